// Package sleep implements `podprobe sleep`, the image's default command: do
// nothing until told to stop, as a well-behaved PID 1.
package sleep

import (
	"encoding/json"

	"github.com/podsem/podsem/images/podprobe/internal/cli"
	"github.com/podsem/podsem/images/podprobe/internal/lifecycle"
	"github.com/podsem/podsem/images/podprobe/ns"
)

var Command = &cli.Command{
	Name:    "sleep",
	Summary: "default entrypoint: run until SIGTERM/SIGINT (exit 0), reaping orphans; --ns-out first writes the `ns` JSON to PATH",
	Flags:   []cli.Flag{{Name: "ns-out", Kind: cli.StringFlag, Value: "PATH", Usage: "write the `ns` JSON object to PATH (atomically) at start"}},
	Run:     run,
}

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
	<-terminated
	return nil, nil
}
