// Package environ implements `podprobe environ`: read another process's
// environment through /proc/PID/environ, which the kernel guards like ptrace
// (same user and group, or CAP_SYS_PTRACE): EACCES otherwise.
package environ

import (
	"bytes"
	"os"
	"strconv"

	"github.com/podsem/podsem/images/podprobe/internal/cli"
)

var Command = &cli.Command{
	Name:    "environ",
	Args:    []string{"PID"},
	Summary: "read /proc/PID/environ → {\"pid\",\"environ\":[\"K=V\",...]}; EACCES when the process may not be inspected",
	Run:     run,
}

type result struct {
	PID     int      `json:"pid"`
	Environ []string `json:"environ,omitempty"`
}

func run(inv *cli.Invocation) (any, error) {
	pid, err := cli.ParsePID(inv.Args[0])
	if err != nil {
		return nil, err
	}
	res := &result{PID: pid}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return res, err
	}
	res.Environ = []string{}
	for _, kv := range bytes.Split(bytes.TrimRight(data, "\x00"), []byte{0}) {
		if len(kv) > 0 {
			res.Environ = append(res.Environ, string(kv))
		}
	}
	return res, nil
}
