package cli

import (
	"net"
	"strconv"
	"strings"
)

// ParseProto accepts "tcp" or "udp".
func ParseProto(s string) (string, error) {
	if s != "tcp" && s != "udp" {
		return "", Usagef("protocol must be tcp or udp, got %q", s)
	}
	return s, nil
}

// Endpoint is what the socket subcommands take: "tcp|udp PORT" and --addr.
type Endpoint struct {
	Proto string
	IP    net.IP
	Port  int
}

// Addr is the endpoint as "ip:port".
func (e Endpoint) Addr() string { return net.JoinHostPort(e.IP.String(), strconv.Itoa(e.Port)) }

// ParseEndpoint reads the protocol and port arguments and the --addr flag.
func ParseEndpoint(inv *Invocation) (Endpoint, error) {
	proto, err := ParseProto(inv.Args[0])
	if err != nil {
		return Endpoint{}, err
	}
	port, err := ParsePort(inv.Args[1])
	if err != nil {
		return Endpoint{}, err
	}
	ip := net.ParseIP(inv.String("addr"))
	if ip == nil {
		return Endpoint{}, Usagef("%s: --addr must be an IP address, got %q", inv.Command.Name, inv.String("addr"))
	}
	return Endpoint{Proto: proto, IP: ip, Port: port}, nil
}

// ParsePort accepts 0..65535 (0 asks the kernel for a free port).
func ParsePort(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 65535 {
		return 0, Usagef("port must be a number 0-65535, got %q", s)
	}
	return n, nil
}

// ParsePID accepts a positive process id.
func ParsePID(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, Usagef("pid must be a positive number, got %q", s)
	}
	return n, nil
}

// ParseIPCKey accepts a SysV IPC key in decimal or 0x-hex. The value keeps its
// written form (e.g. 0xdeadbeef is 3735928559) and the 32-bit key_t passed to
// the kernel is its low 32 bits. 0 is IPC_PRIVATE, which can never be found
// again, so it is refused.
func ParseIPCKey(s string) (value int64, key int32, err error) {
	if hex, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		value, err = strconv.ParseInt(hex, 16, 64)
	} else {
		value, err = strconv.ParseInt(s, 10, 64)
	}
	if err != nil || value < -1<<31 || value > 1<<32-1 {
		return 0, 0, Usagef("key must be a 32-bit number in decimal or 0x-hex, got %q", s)
	}
	if value == 0 {
		return 0, 0, Usagef("key 0 is IPC_PRIVATE; use a non-zero key")
	}
	return value, int32(uint32(value)), nil
}
