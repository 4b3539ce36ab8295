// Package sendsignal implements `podprobe signal`: kill(2) another process,
// to see which processes a container can reach (shared PID namespace).
package sendsignal

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/podsem/podsem/images/podprobe/internal/cli"
	"golang.org/x/sys/unix"
)

var Command = &cli.Command{
	Name:    "signal",
	Args:    []string{"PID", "SIG"},
	Summary: "send SIG (name like USR1/SIGUSR1, or number) to PID → {\"pid\",\"signal\",\"delivered\"}; ESRCH/EPERM as errors; --wait: then wait until PID has exited (\"exited\")",
	Flags: []cli.Flag{
		{Name: "wait", Kind: cli.DurationFlag, Default: "0", Value: "DURATION", Usage: "after delivery, wait at most DURATION until PID has exited (gone, or a zombie: its exit is done); ETIMEDOUT otherwise"},
	},
	Run: run,
}

type result struct {
	PID       int    `json:"pid"`
	Signal    string `json:"signal"`
	Delivered bool   `json:"delivered"`
	Exited    *bool  `json:"exited,omitempty"`
}

// exitPoll is how often --wait looks at the process.
const exitPoll = 10 * time.Millisecond

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
	if wait := inv.Duration("wait"); wait > 0 {
		exited := false
		res.Exited = &exited
		for deadline := time.Now().Add(wait); !hasExited(pid); time.Sleep(exitPoll) {
			if time.Now().After(deadline) {
				return res, cli.Fail("ETIMEDOUT", fmt.Errorf("process %d still running %s after the signal", pid, wait))
			}
		}
		exited = true
	}
	return res, nil
}

// hasExited says whether pid is gone or a zombie: either way the kernel has
// run its exit, released its memory and IPC attachments.
func hasExited(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ESRCH) || (err == nil && len(data) == 0) {
		return true
	}
	if err != nil {
		return false
	}
	// The state follows the command name, which ends at the last ')'.
	line := string(data)
	if i := strings.LastIndexByte(line, ')'); i >= 0 && i+2 < len(line) {
		state := line[i+2]
		return state == 'Z' || state == 'X'
	}
	return false
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
