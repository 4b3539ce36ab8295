// Package ps implements `podprobe ps`: the processes visible in this PID
// namespace, from /proc.
package ps

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/podsem/podsem/images/podprobe/internal/cli"
)

var Command = &cli.Command{
	Name:    "ps",
	Summary: "list processes from /proc → {\"processes\":[{\"pid\",\"ppid\",\"state\",\"comm\",\"cmdline\"}]}",
	Run:     run,
}

// Process is one entry of `podprobe ps`.
type Process struct {
	PID     int    `json:"pid"`
	PPID    int    `json:"ppid"`
	State   string `json:"state"`
	Comm    string `json:"comm"`
	Cmdline string `json:"cmdline"`
}

// Stat is the part of /proc/PID/stat podprobe uses.
type Stat struct {
	PID       int
	Comm      string
	State     string // R, S, D, Z, T, ...
	PPID      int
	StartTime uint64 // clock ticks after boot; tells a reused pid apart
}

func run(*cli.Invocation) (any, error) {
	list, err := List()
	if err != nil {
		return nil, err
	}
	return struct {
		Processes []Process `json:"processes"`
	}{list}, nil
}

// List returns the processes in /proc, by pid. A process that exits while
// /proc is scanned is left out.
func List() ([]Process, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	list := []Process{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		st, err := ReadStat(pid)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, err
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if errors.Is(err, fs.ErrNotExist) {
			continue // exited between the two reads
		}
		list = append(list, Process{
			PID: pid, PPID: st.PPID, State: st.State, Comm: st.Comm,
			Cmdline: strings.TrimSpace(string(bytes.ReplaceAll(bytes.TrimRight(cmdline, "\x00"), []byte{0}, []byte{' '}))),
		})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].PID < list[j].PID })
	return list, nil
}

// ReadStat reads /proc/PID/stat. A process that is gone, or going while the
// file is read (ESRCH, empty file), gives an error matching fs.ErrNotExist.
func ReadStat(pid int) (Stat, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if errors.Is(err, syscall.ESRCH) || (err == nil && len(data) == 0) {
		return Stat{}, fmt.Errorf("process %d: %w", pid, fs.ErrNotExist)
	}
	if err != nil {
		return Stat{}, err
	}
	return ParseStat(string(data))
}

// ParseStat parses a /proc/PID/stat line. comm may hold spaces and
// parentheses, so it is everything between the first "(" and the last ")".
func ParseStat(line string) (Stat, error) {
	open, closing := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
	if open < 0 || closing < open {
		return Stat{}, fmt.Errorf("malformed stat %q", line)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line[:open]))
	if err != nil {
		return Stat{}, fmt.Errorf("malformed stat pid in %q", line)
	}
	// After comm: state(3) ppid(4) ... starttime(22); rest[0] is field 3.
	rest := strings.Fields(line[closing+1:])
	if len(rest) < 20 {
		return Stat{}, fmt.Errorf("short stat %q", line)
	}
	ppid, err := strconv.Atoi(rest[1])
	if err != nil {
		return Stat{}, fmt.Errorf("malformed stat ppid in %q", line)
	}
	start, err := strconv.ParseUint(rest[19], 10, 64)
	if err != nil {
		return Stat{}, fmt.Errorf("malformed stat starttime in %q", line)
	}
	return Stat{PID: pid, Comm: line[open+1 : closing], State: rest[0], PPID: ppid, StartTime: start}, nil
}
