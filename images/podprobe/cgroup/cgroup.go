// Package cgroup implements `podprobe cgroup`: the memory and CPU limits of the
// container's own cgroup, as the container sees them, for cgroup v1 and v2.
package cgroup

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/podsem/podsem/images/podprobe/fstype"
	"github.com/podsem/podsem/images/podprobe/internal/cli"
	"github.com/podsem/podsem/images/podprobe/mounts"
	"golang.org/x/sys/unix"
)

const (
	cgroupRoot   = "/sys/fs/cgroup"
	cgroup2Magic = 0x63677270
	// v1 says "unlimited" with a huge page-rounded number near 2^63.
	v1Unlimited = int64(1) << 62
)

var Command = &cli.Command{
	Name:    "cgroup",
	Summary: "own cgroup limits → {\"version\",\"path\",\"dir\",\"dir_inode\",\"memory_limit_bytes\",\"cpu_quota_us\",\"cpu_period_us\",\"cpu_shares\"(v1)|\"cpu_weight\"(v2)} (null = unlimited)",
	Run:     run,
}

// Result is the JSON object of `podprobe cgroup`.
type Result struct {
	Version int    `json:"version"`
	Path    string `json:"path"`
	// Dir is the directory the memory limit is read from (v1: the memory
	// controller's), and DirInode its inode: the cgroup's identity, which
	// two containers can compare even when a private cgroup namespace shows
	// each its path as "/".
	Dir              string `json:"dir"`
	DirInode         uint64 `json:"dir_inode"`
	MemoryLimitBytes *int64 `json:"memory_limit_bytes"`
	CPUQuotaUs       *int64 `json:"cpu_quota_us"`
	CPUPeriodUs      *int64 `json:"cpu_period_us"`
	CPUShares        *int64 `json:"cpu_shares,omitempty"`
	CPUWeight        *int64 `json:"cpu_weight,omitempty"`
}

func run(*cli.Invocation) (any, error) {
	magic, err := fstype.Magic(cgroupRoot)
	if err != nil {
		return nil, err
	}
	memberships, err := readMemberships("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	mountList, err := mounts.Read()
	if err != nil {
		return nil, err
	}
	if magic == cgroup2Magic {
		return readV2(memberships[""], mountList)
	}
	return readV1(memberships, mountList)
}

// readMemberships maps each controller of /proc/self/cgroup ("memory",
// "cpu", ...; "" for the v2 hierarchy) to the process' cgroup path.
func readMemberships(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		// hierarchy-ID:controller-list:path
		parts := strings.SplitN(scanner.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			out[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			out[c] = parts[2]
		}
	}
	return out, scanner.Err()
}

// dirOf finds the directory of cgroup path in the mounted hierarchy that
// matches: a container usually has its own cgroup mounted as the hierarchy's
// root (so the path in /proc/self/cgroup is not below the mount point), a
// host process sees the whole tree.
func dirOf(cgroupPath string, list []mounts.Mount, matches func(mounts.Mount) bool) (string, bool) {
	for _, m := range list {
		if !matches(m) {
			continue
		}
		rel, ok := strings.CutPrefix(cgroupPath, m.Root)
		if !ok {
			return m.Target, true // e.g. a cgroup namespace: the path is not below the mounted root
		}
		return filepath.Join(m.Target, rel), true
	}
	return "", false
}

func readV2(path string, list []mounts.Mount) (*Result, error) {
	dir, ok := dirOf(path, list, func(m mounts.Mount) bool { return m.FSType == "cgroup2" })
	if !ok {
		dir = cgroupRoot
	}
	res, err := ReadV2Dir(dir)
	res.Path = path
	return res, err
}

// ReadV2Dir reads the limits of the cgroup v2 directory dir.
func ReadV2Dir(dir string) (*Result, error) {
	res := &Result{Version: 2}
	if err := res.identify(dir); err != nil {
		return res, err
	}
	if s, err := readValue(filepath.Join(dir, "memory.max")); err == nil && s != "max" {
		res.MemoryLimitBytes = parseInt(s)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return res, err
	}
	if s, err := readValue(filepath.Join(dir, "cpu.max")); err == nil {
		quota, period, _ := strings.Cut(s, " ")
		if quota != "max" {
			res.CPUQuotaUs = parseInt(quota)
		}
		res.CPUPeriodUs = parseInt(period)
	}
	if s, err := readValue(filepath.Join(dir, "cpu.weight")); err == nil {
		res.CPUWeight = parseInt(s)
	}
	return res, nil
}

func readV1(memberships map[string]string, list []mounts.Mount) (*Result, error) {
	controller := func(name string) string {
		dir, _ := dirOf(memberships[name], list, func(m mounts.Mount) bool {
			return m.FSType == "cgroup" && slices.Contains(strings.Split(m.SuperOptions, ","), name)
		})
		return dir
	}
	res, err := ReadV1Dirs(controller("memory"), controller("cpu"))
	res.Path = memberships["memory"]
	if res.Path == "" {
		res.Path = memberships["cpu"]
	}
	return res, err
}

// ReadV1Dirs reads the limits of one cgroup v1 cgroup from its directories in
// the memory and cpu hierarchies; an empty one is not read.
func ReadV1Dirs(memoryDir, cpuDir string) (*Result, error) {
	res := &Result{Version: 1}
	if memoryDir != "" {
		if err := res.identify(memoryDir); err != nil {
			return res, err
		}
		s, err := readValue(filepath.Join(memoryDir, "memory.limit_in_bytes"))
		if err != nil {
			return res, err
		}
		if limit := parseInt(s); limit != nil && *limit < v1Unlimited {
			res.MemoryLimitBytes = limit
		}
	}
	if cpuDir != "" {
		if s, err := readValue(filepath.Join(cpuDir, "cpu.cfs_quota_us")); err == nil {
			if quota := parseInt(s); quota != nil && *quota >= 0 {
				res.CPUQuotaUs = quota
			}
		}
		if s, err := readValue(filepath.Join(cpuDir, "cpu.cfs_period_us")); err == nil {
			res.CPUPeriodUs = parseInt(s)
		}
		if s, err := readValue(filepath.Join(cpuDir, "cpu.shares")); err == nil {
			res.CPUShares = parseInt(s)
		}
	}
	return res, nil
}

// identify records dir and its inode as the cgroup's identity.
func (r *Result) identify(dir string) error {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return err
	}
	r.Dir, r.DirInode = dir, st.Ino
	return nil
}

func readValue(path string) (string, error) {
	data, err := os.ReadFile(path)
	return strings.TrimSpace(string(data)), err
}

func parseInt(s string) *int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil
	}
	return &n
}
