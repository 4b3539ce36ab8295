// Package sendsignal implements `podprobe signal`: kill(2) another process,
// to see which processes a container can reach (shared PID namespace).
package sendsignal

import (
	"strconv"
	"strings"

	"github.com/podsem/podsem/images/podprobe/internal/cli"
	"golang.org/x/sys/unix"
)

var Command = &cli.Command{
	Name:    "signal",
	Args:    []string{"PID", "SIG"},
	Summary: "send SIG (name like USR1/SIGUSR1, or number) to PID → {\"pid\",\"signal\",\"delivered\"}; ESRCH/EPERM as errors",
	Run:     run,
}

type result struct {
	PID       int    `json:"pid"`
	Signal    string `json:"signal"`
	Delivered bool   `json:"delivered"`
}

func run(inv *cli.Invocation) (any, error) {
	pid, err := cli.ParsePID(inv.Args[0])
	if err != nil {
		return nil, err
	}
	sig, err := ParseSignal(inv.Args[1])
	if err != nil {
		return nil, err
	}
	res := &result{PID: pid, Signal: Name(sig)}
	if err := unix.Kill(pid, sig); err != nil {
		return res, err
	}
	res.Delivered = true
	return res, nil
}

// ParseSignal accepts "SIGUSR1", "usr1" or "10"; 0 only checks that PID exists.
func ParseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 || n > 64 {
			return 0, cli.Usagef("signal number must be 0-64, got %d", n)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, cli.Usagef("unknown signal %q", s)
}

// Name returns "SIGUSR1" for a signal, or its number when it has no name.
func Name(sig unix.Signal) string {
	if name := unix.SignalName(sig); name != "" {
		return name
	}
	return strconv.Itoa(int(sig))
}
