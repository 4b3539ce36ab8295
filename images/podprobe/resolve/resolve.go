// Package resolve implements `podprobe resolve`: look a name up the way the
// container's own resolver does (its /etc/resolv.conf: nameservers, search
// domains, ndots), to see what the cluster's DNS serves the pod.
package resolve

import (
	"context"
	"errors"
	"net"
	"sort"

	"github.com/podsem/podsem/images/podprobe/internal/cli"
)

var Command = &cli.Command{
	Name:    "resolve",
	Args:    []string{"NAME"},
	Summary: "look NAME up through /etc/resolv.conf → {\"name\",\"addrs\"} (exit 1 when it does not resolve)",
	Flags: []cli.Flag{
		{Name: "timeout", Kind: cli.DurationFlag, Default: "3s", Value: "DURATION", Usage: "for the whole lookup"},
	},
	Run: run,
}

// Result is the JSON object of `podprobe resolve`.
type Result struct {
	Name  string   `json:"name"`
	Addrs []string `json:"addrs"`
	// NotFound is true when a nameserver answered that the name does not exist.
	NotFound bool `json:"not_found,omitempty"`
}

func run(inv *cli.Invocation) (any, error) {
	name := inv.Args[0]
	ctx, cancel := context.WithTimeout(context.Background(), inv.Duration("timeout"))
	defer cancel()
	// Go's own resolver reads /etc/resolv.conf like libc does; PreferGo so
	// the answer never depends on a libc the static binary does not have.
	r := &net.Resolver{PreferGo: true}
	addrs, err := r.LookupHost(ctx, name)
	res := &Result{Name: name, Addrs: addrs}
	sort.Strings(res.Addrs)
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		res.NotFound = true
	}
	if res.Addrs == nil {
		res.Addrs = []string{}
	}
	return res, err
}
