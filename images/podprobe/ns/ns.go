// Package ns implements `podprobe ns`: which namespaces the process is in, as
// the kernel names them (net:[4026531840]), plus the identity that depends on
// them (hostname, pid, user id maps).
package ns

import (
	"os"
	"strings"

	"github.com/podsem/podsem/images/podprobe/internal/cli"
	"golang.org/x/sys/unix"
)

// kinds are the namespaces reported; one the kernel lacks is left out.
var kinds = []string{"net", "ipc", "uts", "pid", "mnt", "user", "cgroup", "time"}

// Info is the JSON object of `podprobe ns`.
type Info struct {
	Namespaces map[string]string `json:"namespaces"`
	Hostname   string            `json:"hostname"`
	Domainname string            `json:"domainname"`
	PID        int               `json:"pid"`
	PPID       int               `json:"ppid"`
	UIDMap     string            `json:"uid_map"`
	GIDMap     string            `json:"gid_map"`
}

var Command = &cli.Command{
	Name:    "ns",
	Summary: "print the namespaces (readlink /proc/self/ns/*), hostname, pid, ppid and uid/gid maps",
	Run: func(*cli.Invocation) (any, error) {
		info, err := Collect()
		return info, err
	},
}

// Collect reads the calling process' namespace identity.
func Collect() (*Info, error) {
	info := &Info{Namespaces: map[string]string{}, PID: os.Getpid(), PPID: os.Getppid()}
	for _, kind := range kinds {
		if link, err := Link(kind); err == nil {
			info.Namespaces[kind] = link
		}
	}
	var err error
	info.Hostname, info.Domainname, err = Names()
	if err != nil {
		return info, err
	}
	if info.UIDMap, err = readIDMap("/proc/self/uid_map"); err != nil {
		return info, err
	}
	if info.GIDMap, err = readIDMap("/proc/self/gid_map"); err != nil {
		return info, err
	}
	return info, nil
}

// Link returns the namespace of the given kind, e.g. Link("net") = "net:[4026531840]".
func Link(kind string) (string, error) {
	return os.Readlink("/proc/self/ns/" + kind)
}

// Names returns the UTS hostname and NIS domain name.
func Names() (hostname, domainname string, err error) {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return "", "", err
	}
	return unix.ByteSliceToString(uts.Nodename[:]), unix.ByteSliceToString(uts.Domainname[:]), nil
}

// readIDMap returns an id map with the kernel's column padding squeezed to
// single spaces ("0 0 4294967295"), one line per range.
func readIDMap(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var lines []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if fields := strings.Fields(line); len(fields) > 0 {
			lines = append(lines, strings.Join(fields, " "))
		}
	}
	return strings.Join(lines, "\n"), nil
}
