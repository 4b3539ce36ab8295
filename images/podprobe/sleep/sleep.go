// Package sleep implements `podprobe sleep`, the image's default command: do
// nothing until told to stop, as a well-behaved PID 1.
package sleep

import (
	"encoding/json"
	"os"
	"strconv"
	"time"

	"github.com/podsem/podsem/images/podprobe/internal/cli"
	"github.com/podsem/podsem/images/podprobe/internal/lifecycle"
	"github.com/podsem/podsem/images/podprobe/ns"
)

var Command = &cli.Command{
	Name:    "sleep",
	Summary: "default entrypoint: run until SIGTERM/SIGINT (exit 0), reaping orphans; --ns-out first writes the `ns` JSON to PATH; --exit-when ends it when PATH is touched",
	Flags: []cli.Flag{
		{Name: "ns-out", Kind: cli.StringFlag, Value: "PATH", Usage: "write the `ns` JSON object to PATH (atomically) at start"},
		{Name: "exit-when", Kind: cli.StringFlag, Value: "PATH", Usage: "exit (with --exit-code) once PATH is modified after this start: one write ends every container watching it, and a restarted one waits for the next"},
		{Name: "exit-code", Kind: cli.StringFlag, Default: "0", Value: "N", Usage: "exit status for --exit-when"},
	},
	Run: run,
}

// triggerPoll is how often --exit-when looks at its file: containers
// watching one file end within this of each other.
const triggerPoll = 50 * time.Millisecond

func run(inv *cli.Invocation) (any, error) {
	terminated := lifecycle.Terminated()
	// As PID 1, processes orphaned in the container are re-parented here.
	lifecycle.ReapOrphans()
	if path := inv.String("ns-out"); path != "" {
		info, err := ns.Collect()
		if err != nil {
			return info, err
		}
		data, err := json.Marshal(info)
		if err != nil {
			return nil, err
		}
		if err := cli.WriteFileAtomic(path, append(data, '\n')); err != nil {
			return info, err
		}
	}
	if path := inv.String("exit-when"); path != "" {
		code, err := strconv.Atoi(inv.String("exit-code"))
		if err != nil || code < 0 || code > 255 {
			return nil, cli.Usagef("--exit-code %q: want 0..255", inv.String("exit-code"))
		}
		go exitWhenTouched(path, time.Now(), code)
	}
	<-terminated
	return nil, nil
}

// exitWhenTouched ends the process with code once path's modification time is
// after started.
func exitWhenTouched(path string, started time.Time, code int) {
	for range time.Tick(triggerPoll) {
		if st, err := os.Stat(path); err == nil && st.ModTime().After(started) {
			os.Exit(code)
		}
	}
}
