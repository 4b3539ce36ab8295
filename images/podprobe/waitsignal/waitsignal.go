// Package waitsignal implements `podprobe wait-signal`: a long-running target
// that records the signals it receives in a file, which another container
// reads through a shared volume. With --detach it starts such a target in the
// background instead, so a container gets a long-lived process that is not its
// PID 1, whose PID a spec can hand to another container.
package waitsignal

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/podsem/podsem/images/podprobe/internal/cli"
	"github.com/podsem/podsem/images/podprobe/internal/lifecycle"
	"github.com/podsem/podsem/images/podprobe/sendsignal"
	"golang.org/x/sys/unix"
)

var Command = &cli.Command{
	Name:    "wait-signal",
	Summary: "long-running: record SIGUSR1/SIGUSR2/SIGHUP in --record PATH as {\"pid\",\"ready\",\"signals\":[...]}; exit 0 on SIGTERM/SIGINT; --detach: run it in the background and print its first record",
	Flags: []cli.Flag{
		{Name: "record", Kind: cli.StringFlag, Value: "PATH", Usage: "file to (re)write atomically after each signal", Required: true},
		{Name: "detach", Kind: cli.BoolFlag, Usage: "start the target as a background process (new session, output discarded), wait until its record says ready, print that record and exit"},
	},
	Run: run,
}

// detachTimeout bounds how long --detach waits for the background target.
const detachTimeout = 5 * time.Second

// Record is the content of the --record file.
type Record struct {
	PID     int      `json:"pid"`
	Ready   bool     `json:"ready"`
	Signals []string `json:"signals"`
}

func run(inv *cli.Invocation) (any, error) {
	path := inv.String("record")
	if inv.Bool("detach") {
		return detach(path)
	}
	// Handlers first: the record says "ready", which promises they are installed.
	recorded := make(chan os.Signal, 64)
	signal.Notify(recorded, unix.SIGUSR1, unix.SIGUSR2, unix.SIGHUP)
	terminated := lifecycle.Terminated()
	if os.Getpid() == 1 {
		lifecycle.ReapOrphans()
	}
	rec := Record{PID: os.Getpid(), Ready: true, Signals: []string{}}
	if err := save(path, rec); err != nil {
		return rec, err
	}
	if err := inv.Emit(rec, nil); err != nil {
		return nil, err
	}
	for {
		select {
		case sig := <-recorded:
			rec.Signals = append(rec.Signals, sendsignal.Name(sig.(unix.Signal)))
			if err := save(path, rec); err != nil {
				return rec, err
			}
		case <-terminated:
			return nil, nil
		}
	}
}

func save(path string, rec Record) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return cli.WriteFileAtomic(path, append(data, '\n'))
}

// detach starts `wait-signal --record path` in a session of its own, with its
// output discarded (an exec session must not wait for it), and returns its
// record once it says ready. Its parent exits, so it is re-parented to the
// PID namespace's init, which reaps it when it ends.
func detach(path string) (any, error) {
	self, err := os.Executable()
	if err != nil {
		self = "/proc/self/exe"
	}
	cmd := exec.Command(self, "wait-signal", "--record", path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(detachTimeout)
	for {
		// The record of an earlier target at the same path has another pid.
		var rec Record
		if data, err := os.ReadFile(path); err == nil && json.Unmarshal(data, &rec) == nil &&
			rec.PID == cmd.Process.Pid && rec.Ready {
			return rec, nil
		}
		select {
		case err := <-exited:
			return nil, fmt.Errorf("detached wait-signal exited before it was ready: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			return nil, cli.Fail("ETIMEDOUT", errors.New("detached wait-signal not ready within "+detachTimeout.String()))
		}
	}
}
