// Package orphan implements `podprobe orphan`: make a process whose parent
// exits, then watch who adopts it and whether the adopter reaps it. In a pod
// this shows whether PID 1 (the pause container with a shared PID namespace,
// or the container's own entrypoint) reaps zombies.
//
// The orphan is a grandchild: orphan starts `orphan-parent` (hidden), which
// starts `orphan-child` (hidden) and exits at once. orphan itself reaps only
// the middle process and is never a subreaper, so it cannot be the reaper it
// observes, unless it runs as PID 1 itself. The orphan lives until orphan has
// seen who adopted it: it exits when the pipe orphan holds open is closed (or
// at the latest after --linger), so no load on the node can make it exit, and
// be reaped, before anyone looked.
package orphan

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"time"

	"github.com/podsem/podsem/images/podprobe/internal/cli"
	"github.com/podsem/podsem/images/podprobe/ps"
)

// pollInterval is how often /proc/<orphan>/stat is read.
const pollInterval = 10 * time.Millisecond

var Command = &cli.Command{
	Name:    "orphan",
	Summary: "orphan a grandchild (it exits once its adopter is seen) and watch whether it is reparented and reaped → {\"orphan_pid\",\"reparented_to\",\"zombie_seen\",\"reaped\",\"final_state\"}",
	Flags:   []cli.Flag{{Name: "wait", Kind: cli.DurationFlag, Default: "5s", Value: "DURATION", Usage: "how long to watch for the reaping"}},
	Run:     run,
}

// ParentCommand is the middle process: it starts the orphan and exits.
var ParentCommand = &cli.Command{
	Name:    "orphan-parent",
	Hidden:  true,
	Summary: "internal: start orphan-child, print its pid and exit without waiting",
	Flags: []cli.Flag{
		{Name: "linger", Kind: cli.DurationFlag, Default: "30s", Value: "DURATION", Usage: "passed to orphan-child"},
		{Name: "release", Kind: cli.BoolFlag, Usage: "fd 3 is the release pipe: pass it to orphan-child"},
	},
	Run: runParent,
}

// ChildCommand is the orphan: it outlives its parent until released, then exits.
var ChildCommand = &cli.Command{
	Name:    "orphan-child",
	Hidden:  true,
	Summary: "internal: exit 0 when the release pipe (fd 3) is closed, or after --linger",
	Flags: []cli.Flag{
		{Name: "linger", Kind: cli.DurationFlag, Default: "30s", Value: "DURATION", Usage: "how long to live at most"},
		{Name: "release", Kind: cli.BoolFlag, Usage: "fd 3 is the release pipe: exit when it is closed"},
	},
	Run: func(inv *cli.Invocation) (any, error) {
		released := make(chan struct{})
		if inv.Bool("release") {
			go func() {
				// Blocks until every write end is closed: orphan's is the only one.
				_, _ = io.Copy(io.Discard, os.NewFile(releaseFD, "release"))
				close(released)
			}()
		}
		select {
		case <-released:
		case <-time.After(inv.Duration("linger")):
		}
		return nil, nil
	},
}

// releaseFD is the release pipe's read end in orphan-parent and orphan-child
// (their first ExtraFiles entry).
const releaseFD = 3

// Result is the JSON object of `podprobe orphan`.
type Result struct {
	OrphanPID    int    `json:"orphan_pid"`
	ReparentedTo int    `json:"reparented_to"`
	ZombieSeen   bool   `json:"zombie_seen"`
	Reaped       bool   `json:"reaped"`
	FinalState   string `json:"final_state"`  // "gone" once reaped, else the last state seen ("Z")
	ObserverPID  int    `json:"observer_pid"` // this process: reparented_to == observer_pid means nobody else could reap
}

type parentResult struct {
	ChildPID int `json:"child_pid"`
}

func self() string {
	if path, err := os.Executable(); err == nil {
		return path
	}
	return "/proc/self/exe"
}

func runParent(inv *cli.Invocation) (any, error) {
	child := exec.Command(self(), ChildCommand.Name, "--linger", inv.String("linger"))
	if inv.Bool("release") {
		child.Args = append(child.Args, "--release")
		child.ExtraFiles = []*os.File{os.NewFile(releaseFD, "release")}
	}
	if err := child.Start(); err != nil {
		return nil, err
	}
	// Exit without waiting: that is what orphans the child.
	return parentResult{ChildPID: child.Process.Pid}, nil
}

func run(inv *cli.Invocation) (any, error) {
	res := &Result{ObserverPID: os.Getpid()}
	release, hold, err := os.Pipe()
	if err != nil {
		return res, err
	}
	defer hold.Close()
	// Output waits for the middle process, which reaps our only direct child.
	// Once it has exited, the kernel has already given its child a new parent.
	parentCmd := exec.Command(self(), ParentCommand.Name, "--release")
	parentCmd.ExtraFiles = []*os.File{release}
	out, err := parentCmd.Output()
	release.Close()
	if err != nil {
		return res, fmt.Errorf("orphan-parent: %w", err)
	}
	var parent parentResult
	if err := json.Unmarshal(out, &parent); err != nil || parent.ChildPID <= 0 {
		return res, fmt.Errorf("orphan-parent printed %q", out)
	}
	res.OrphanPID = parent.ChildPID
	watch(res, hold, inv.Duration("wait"))
	return res, nil
}

// watch reads the orphan's parent, releases the orphan (closing hold), and
// polls its stat until it disappears or wait has passed.
func watch(res *Result, hold *os.File, wait time.Duration) {
	deadline := time.Now().Add(wait)
	var startTime uint64
	for first := true; ; first = false {
		st, err := ps.ReadStat(res.OrphanPID)
		// A different start time means the pid was reused: ours is gone.
		if errors.Is(err, fs.ErrNotExist) || (err == nil && !first && st.StartTime != startTime) {
			res.Reaped, res.FinalState = true, "gone"
			return
		}
		if err == nil {
			if first {
				startTime, res.ReparentedTo = st.StartTime, st.PPID
			}
			res.FinalState = st.State
			res.ZombieSeen = res.ZombieSeen || st.State == "Z"
		}
		if first {
			// Its parent is recorded: the orphan may go.
			hold.Close()
		}
		if !time.Now().Before(deadline) {
			return
		}
		time.Sleep(pollInterval)
	}
}
