// Package waitsignal implements `podprobe wait-signal`: a long-running target
// that records the signals it receives in a file, which another container
// reads through a shared volume.
package waitsignal

import (
	"encoding/json"
	"os"
	"os/signal"

	"github.com/podsem/podsem/images/podprobe/internal/cli"
	"github.com/podsem/podsem/images/podprobe/internal/lifecycle"
	"github.com/podsem/podsem/images/podprobe/sendsignal"
	"golang.org/x/sys/unix"
)

var Command = &cli.Command{
	Name:    "wait-signal",
	Summary: "long-running: record SIGUSR1/SIGUSR2/SIGHUP in --record PATH as {\"pid\",\"ready\",\"signals\":[...]}; exit 0 on SIGTERM/SIGINT",
	Flags:   []cli.Flag{{Name: "record", Kind: cli.StringFlag, Value: "PATH", Usage: "file to (re)write atomically after each signal", Required: true}},
	Run:     run,
}

// Record is the content of the --record file.
type Record struct {
	PID     int      `json:"pid"`
	Ready   bool     `json:"ready"`
	Signals []string `json:"signals"`
}

func run(inv *cli.Invocation) (any, error) {
	path := inv.String("record")
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
