// Package hostname implements `podprobe hostname`: read or set the UTS
// hostname, to see whether the UTS namespace is shared.
package hostname

import (
	"github.com/podsem/podsem/images/podprobe/internal/cli"
	"github.com/podsem/podsem/images/podprobe/ns"
	"golang.org/x/sys/unix"
)

var Command = &cli.Command{
	Name: "hostname",
	Modes: []*cli.Command{
		{Name: "get", Summary: "→ {\"hostname\",\"domainname\"}", Run: get},
		{Name: "set", Args: []string{"NAME"}, Summary: "sethostname(NAME) (EPERM without CAP_SYS_ADMIN) → {\"hostname\"}", Run: set},
		{Name: "set-domain", Args: []string{"NAME"}, Summary: "setdomainname(NAME), the NIS domainname (EPERM without CAP_SYS_ADMIN) → {\"domainname\"}", Run: setDomain},
	},
}

func get(*cli.Invocation) (any, error) {
	hostname, domainname, err := ns.Names()
	if err != nil {
		return nil, err
	}
	return struct {
		Hostname   string `json:"hostname"`
		Domainname string `json:"domainname"`
	}{hostname, domainname}, nil
}

func set(inv *cli.Invocation) (any, error) {
	name := inv.Args[0]
	res := struct {
		Hostname string `json:"hostname"`
	}{name}
	return res, unix.Sethostname([]byte(name))
}

func setDomain(inv *cli.Invocation) (any, error) {
	name := inv.Args[0]
	res := struct {
		Domainname string `json:"domainname"`
	}{name}
	return res, unix.Setdomainname([]byte(name))
}
