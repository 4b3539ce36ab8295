// Package batch implements `podprobe batch`: several one-shot subcommands,
// one after another, in one podprobe process. Each exec into a container costs
// the runtime an exec of its own (runc exec, the kubelet's and the API
// server's streams); a spec's consecutive observations in one container need
// only one.
package batch

import (
	"bytes"
	"encoding/json"

	"github.com/podsem/podsem/images/podprobe/internal/cli"
)

// Result is one subcommand's run: what it would have printed and exited with
// had it run alone.
type Result struct {
	Args     []string        `json:"args"`
	ExitCode int             `json:"exit_code"`
	Output   json.RawMessage `json:"output,omitempty"`
	Stdout   string          `json:"stdout,omitempty"` // when it printed no JSON object
	Stderr   string          `json:"stderr,omitempty"`
}

// Command is `batch JSON`, running the commands given (never batch itself).
// JSON is an array of argument lists, e.g. [["ns"],["file","read","/x"]].
// Only one-shot subcommands belong in a batch: one that serves or waits
// would hold up the ones after it, and its process is the batch's (a ps
// sees "podprobe batch", not its own command line).
func Command(commands []*cli.Command) *cli.Command {
	return &cli.Command{
		Name:    "batch",
		Args:    []string{"JSON"},
		Summary: "run each argument list of the JSON array as a subcommand, in order, in this process → {\"results\":[{\"args\",\"exit_code\",\"output\"}]}",
		Run: func(inv *cli.Invocation) (any, error) {
			var calls [][]string
			if err := json.Unmarshal([]byte(inv.Args[0]), &calls); err != nil || len(calls) == 0 {
				return nil, cli.Usagef("batch: want a JSON array of argument lists, e.g. [[\"ns\"],[\"addrs\"]], got %q", inv.Args[0])
			}
			for _, args := range calls {
				if len(args) == 0 || args[0] == "batch" {
					return nil, cli.Usagef("batch: every argument list names a subcommand other than batch, got %q", args)
				}
			}
			results := make([]Result, 0, len(calls))
			for _, args := range calls {
				var stdout, stderr bytes.Buffer
				r := Result{Args: args, ExitCode: cli.Main(commands, args, &stdout, &stderr), Stderr: stderr.String()}
				if out := bytes.TrimSpace(stdout.Bytes()); json.Valid(out) && bytes.HasPrefix(out, []byte("{")) {
					r.Output = json.RawMessage(out)
				} else {
					r.Stdout = stdout.String()
				}
				results = append(results, r)
			}
			return struct {
				Results []Result `json:"results"`
			}{results}, nil
		},
	}
}
