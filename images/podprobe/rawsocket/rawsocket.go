// Package rawsocket implements `podprobe raw-socket`: open a raw ICMP socket.
// The kernel allows it only with CAP_NET_RAW in the user namespace that owns
// the network namespace, so it tells whether a container's root is root over
// its pod's network, i.e. whether the container runs in the user namespace the
// pod's network namespace belongs to.
package rawsocket

import (
	"github.com/podsem/podsem/images/podprobe/internal/cli"
	"golang.org/x/sys/unix"
)

var Command = &cli.Command{
	Name:    "raw-socket",
	Summary: "open (and close) a raw IPv4 ICMP socket → {\"family\",\"protocol\",\"opened\"}; EPERM without CAP_NET_RAW over the network namespace",
	Run:     run,
}

type result struct {
	Family   string `json:"family"`
	Protocol string `json:"protocol"`
	Opened   bool   `json:"opened"`
}

func run(*cli.Invocation) (any, error) {
	res := &result{Family: "inet", Protocol: "icmp"}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
	if err != nil {
		return res, err
	}
	unix.Close(fd)
	res.Opened = true
	return res, nil
}
