// Package mounts implements `podprobe mounts`: the mount table of the mount
// namespace, from /proc/self/mountinfo.
package mounts

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/podsem/podsem/images/internal/mountinfo"
	"github.com/podsem/podsem/images/podprobe/internal/cli"
)

var Command = &cli.Command{
	Name:    "mounts",
	Summary: "list mounts from /proc/self/mountinfo → {\"mounts\":[{\"source\",\"target\",\"fstype\",\"options\",\"readonly\"}]}",
	Run:     run,
}

// Mount is one line of mountinfo.
type Mount struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	FSType   string `json:"fstype"`
	Options  string `json:"options"` // per-mount options, e.g. rw,relatime
	ReadOnly bool   `json:"readonly"`

	Root         string `json:"-"` // the path inside the filesystem that is mounted
	SuperOptions string `json:"-"` // per-superblock options, e.g. cgroup controllers
}

func run(*cli.Invocation) (any, error) {
	list, err := Read()
	if err != nil {
		return nil, err
	}
	return struct {
		Mounts []Mount `json:"mounts"`
	}{list}, nil
}

// Read parses /proc/self/mountinfo.
func Read() ([]Mount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f)
}

// Parse reads mountinfo lines:
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//
// (ID, parent, dev, root, target, options, optional fields, "-", fstype, source, super options).
func Parse(r io.Reader) ([]Mount, error) {
	list := []Mount{}
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		sep := slices.Index(fields, "-")
		if sep < 6 || len(fields) < sep+3 {
			return nil, fmt.Errorf("malformed mountinfo line %q", scanner.Text())
		}
		m := Mount{
			Root:     mountinfo.Unescape(fields[3]),
			Target:   mountinfo.Unescape(fields[4]),
			Options:  fields[5],
			FSType:   fields[sep+1],
			Source:   mountinfo.Unescape(fields[sep+2]),
			ReadOnly: slices.Contains(strings.Split(fields[5], ","), "ro"),
		}
		if len(fields) > sep+3 {
			m.SuperOptions = fields[sep+3]
		}
		list = append(list, m)
	}
	return list, scanner.Err()
}
