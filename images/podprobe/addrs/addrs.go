// Package addrs implements `podprobe addrs`: the network interfaces and
// addresses of the network namespace.
package addrs

import (
	"net"

	"github.com/podsem/podsem/images/podprobe/internal/cli"
)

var Command = &cli.Command{
	Name:    "addrs",
	Summary: "list network interfaces with their addresses",
	Run:     run,
}

// Interface is one entry of `podprobe addrs`.
type Interface struct {
	Name     string   `json:"name"`
	Index    int      `json:"index"`
	Up       bool     `json:"up"`
	Loopback bool     `json:"loopback"`
	MAC      string   `json:"mac"`
	Addrs    []string `json:"addrs"`
}

type result struct {
	Interfaces []Interface `json:"interfaces"`
}

func run(*cli.Invocation) (any, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	res := result{Interfaces: []Interface{}}
	for _, iface := range ifaces {
		entry := Interface{
			Name:     iface.Name,
			Index:    iface.Index,
			Up:       iface.Flags&net.FlagUp != 0,
			Loopback: iface.Flags&net.FlagLoopback != 0,
			MAC:      iface.HardwareAddr.String(),
			Addrs:    []string{},
		}
		addrs, err := iface.Addrs()
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			entry.Addrs = append(entry.Addrs, a.String())
		}
		res.Interfaces = append(res.Interfaces, entry)
	}
	return res, nil
}
