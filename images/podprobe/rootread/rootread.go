// Package rootread implements `podprobe root-read`: read a file through
// /proc/PID/root, i.e. from another container's filesystem when the PID
// namespace is shared.
package rootread

import (
	"os"
	"strconv"
	"strings"

	"github.com/podsem/podsem/images/podprobe/internal/cli"
)

var Command = &cli.Command{
	Name:    "root-read",
	Args:    []string{"PID", "PATH"},
	Summary: "read /proc/PID/root/PATH → {\"pid\",\"path\",\"content\"}",
	Run:     run,
}

type result struct {
	PID     int     `json:"pid"`
	Path    string  `json:"path"`
	Content *string `json:"content,omitempty"`
}

func run(inv *cli.Invocation) (any, error) {
	pid, err := cli.ParsePID(inv.Args[0])
	if err != nil {
		return nil, err
	}
	path := inv.Args[1]
	res := &result{PID: pid, Path: path}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/root/" + strings.TrimPrefix(path, "/"))
	if err != nil {
		return res, err
	}
	content := string(data)
	res.Content = &content
	return res, nil
}
