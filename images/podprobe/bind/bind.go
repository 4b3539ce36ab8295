// Package bind implements `podprobe bind`: can this port be bound here (in
// this network namespace) right now? It binds (and for TCP listens) without
// SO_REUSEADDR, then releases the port at once.
package bind

import (
	"net"

	"github.com/podsem/podsem/images/podprobe/internal/cli"
	"golang.org/x/sys/unix"
)

var Command = &cli.Command{
	Name:    "bind",
	Args:    []string{"tcp|udp", "PORT"},
	Summary: "bind (TCP: and listen) then release a port; EADDRINUSE if taken",
	Flags:   []cli.Flag{{Name: "addr", Kind: cli.StringFlag, Default: "0.0.0.0", Value: "IP", Usage: "address to bind"}},
	Run:     run,
}

// Result is the JSON object of `podprobe bind`.
type Result struct {
	Proto string `json:"proto"`
	Addr  string `json:"addr"`
	Bound bool   `json:"bound"`
}

func run(inv *cli.Invocation) (any, error) {
	ep, err := cli.ParseEndpoint(inv)
	if err != nil {
		return nil, err
	}
	proto, ip, port := ep.Proto, ep.IP, ep.Port
	res := &Result{Proto: proto, Addr: ep.Addr()}
	if err := bindAndRelease(proto, ip, port); err != nil {
		return res, err
	}
	res.Bound = true
	return res, nil
}

func bindAndRelease(proto string, ip net.IP, port int) error {
	sotype := unix.SOCK_STREAM
	if proto == "udp" {
		sotype = unix.SOCK_DGRAM
	}
	family := unix.AF_INET6
	var sa unix.Sockaddr
	if v4 := ip.To4(); v4 != nil {
		family = unix.AF_INET
		sa4 := &unix.SockaddrInet4{Port: port}
		copy(sa4.Addr[:], v4)
		sa = sa4
	} else {
		sa6 := &unix.SockaddrInet6{Port: port}
		copy(sa6.Addr[:], ip.To16())
		sa = sa6
	}
	fd, err := unix.Socket(family, sotype|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, sa); err != nil {
		return err
	}
	if proto == "tcp" {
		return unix.Listen(fd, 1)
	}
	return nil
}
