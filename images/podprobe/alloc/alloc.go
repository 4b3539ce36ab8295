// Package alloc implements `podprobe alloc`: take memory for real, so that a
// container memory limit triggers the OOM killer.
package alloc

import (
	"os"
	"strconv"
	"time"

	"github.com/podsem/podsem/images/podprobe/internal/cli"
	"github.com/podsem/podsem/images/podprobe/internal/lifecycle"
	"golang.org/x/sys/unix"
)

var Command = &cli.Command{
	Name:    "alloc",
	Args:    []string{"MB"},
	Summary: "allocate MB MiB and touch every page → {\"allocated_mb\"}; --hold keeps it until SIGTERM; --when waits for a file first",
	Flags: []cli.Flag{
		{Name: "hold", Kind: cli.BoolFlag, Usage: "after printing, keep the memory until SIGTERM/SIGINT"},
		// A container OOM-killed the instant it starts can die before its
		// runtime watches it for OOM events (containerd's shim on cgroup v1
		// starts watching once the start returns), and is then reported as a
		// plain exit 137. Allocating on a signal from outside, once the
		// container is reported running, removes the race.
		{Name: "when", Kind: cli.StringFlag, Value: "PATH", Usage: "wait until PATH exists before allocating"},
	},
	Run: run,
}

const (
	// maxMB keeps MB<<20 far from overflowing.
	maxMB = 1 << 24
	// whenPoll is how often --when looks for its file.
	whenPoll = 50 * time.Millisecond
)

type result struct {
	AllocatedMB int `json:"allocated_mb"`
}

func run(inv *cli.Invocation) (any, error) {
	mb, err := strconv.Atoi(inv.Args[0])
	if err != nil || mb < 0 || mb > maxMB {
		return nil, cli.Usagef("alloc: MB must be a number 0-%d, got %q", maxMB, inv.Args[0])
	}
	terminated := lifecycle.Terminated()
	if path := inv.String("when"); path != "" {
		if os.Getpid() == 1 {
			lifecycle.ReapOrphans()
		}
		for {
			if _, err := os.Stat(path); err == nil {
				break
			}
			select {
			case <-time.After(whenPoll):
			case <-terminated:
				return nil, nil
			}
		}
	}
	if mb > 0 {
		// An anonymous mapping outside the Go heap: every page written is
		// charged to the cgroup, and the garbage collector never returns it.
		mem, err := unix.Mmap(-1, 0, mb<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err != nil {
			return result{}, err
		}
		page := os.Getpagesize()
		for i := 0; i < len(mem); i += page {
			mem[i] = 1
		}
	}
	res := result{AllocatedMB: mb}
	if !inv.Bool("hold") {
		return res, nil
	}
	if os.Getpid() == 1 {
		lifecycle.ReapOrphans()
	}
	if err := inv.Emit(res, nil); err != nil {
		return nil, err
	}
	<-terminated
	return nil, nil
}
