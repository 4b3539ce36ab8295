// Package lifecycle holds what long-running subcommands need to behave as a
// container's PID 1: explicit termination handlers and reaping of orphans.
package lifecycle

import (
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// Terminated returns a channel that receives SIGTERM or SIGINT. Call it before
// announcing readiness: the kernel drops signals that PID 1 has no handler for,
// so without it `docker stop` would wait for the kill timeout.
func Terminated() <-chan os.Signal {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, unix.SIGTERM, unix.SIGINT)
	return ch
}

// ReapOrphans reaps every child that exits, now and on each SIGCHLD. Processes
// re-parented to PID 1 would otherwise stay zombies for the pod's lifetime.
// Only for commands that start no children of their own that they wait for.
func ReapOrphans() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, unix.SIGCHLD)
	reapAll()
	go func() {
		for range ch {
			reapAll()
		}
	}()
}

func reapAll() {
	for {
		var status unix.WaitStatus
		pid, err := unix.Wait4(-1, &status, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
	}
}
