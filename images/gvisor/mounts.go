package gvisor

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/podsem/podsem/images/internal/mountinfo"
)

// Mount is one line of /proc/<pid>/mountinfo.
type Mount struct {
	ID, Parent int
	Device     string // major:minor
	Root       string // the mounted directory of the filesystem
	Mountpoint string
	FSType     string
}

// ParseMountinfo reads the mount table in /proc/<pid>/mountinfo format.
func ParseMountinfo(r io.Reader) ([]Mount, error) {
	var out []Mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		before, after, ok := strings.Cut(line, " - ")
		f := strings.Fields(before)
		g := strings.Fields(after)
		if !ok || len(f) < 5 || len(g) < 1 {
			return nil, fmt.Errorf("malformed mountinfo line %q", line)
		}
		id, err1 := strconv.Atoi(f[0])
		parent, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("malformed mountinfo line %q", line)
		}
		out = append(out, Mount{
			ID: id, Parent: parent, Device: f[2],
			Root: mountinfo.Unescape(f[3]), Mountpoint: mountinfo.Unescape(f[4]), FSType: g[0],
		})
	}
	return out, sc.Err()
}

func isCgroupFS(t string) bool { return t == "cgroup" || t == "cgroup2" }

// CgroupSubmounts returns the cgroup mounts that show a subdirectory of a
// hierarchy that is also mounted whole (kind's entrypoint bind-mounts
// /sys/fs/cgroup/<controller>/kubelet{,.slice} onto themselves). runsc resolves
// its cgroup paths against every mount of a hierarchy and fails on these.
// Deepest first, the order to unmount them in.
func CgroupSubmounts(mounts []Mount) []string {
	whole := map[string]bool{}
	for _, m := range mounts {
		if isCgroupFS(m.FSType) && m.Root == "/" {
			whole[m.Device] = true
		}
	}
	var out []string
	for _, m := range mounts {
		if isCgroupFS(m.FSType) && m.Root != "/" && whole[m.Device] {
			out = append(out, m.Mountpoint)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		return strings.Count(out[i], "/") > strings.Count(out[j], "/")
	})
	return out
}

// CgroupHierarchies returns the mountpoints of whole cgroup hierarchies.
func CgroupHierarchies(mounts []Mount) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range mounts {
		if isCgroupFS(m.FSType) && m.Root == "/" && !seen[m.Device] {
			seen[m.Device] = true
			out = append(out, m.Mountpoint)
		}
	}
	return out
}

func readMounts() ([]Mount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseMountinfo(f)
}

// SetupPrivateMounts prepares the mount namespace the wrapper runs runsc in:
// it must be a fresh one (the process was cloned with CLONE_NEWNS). Mounts
// become slaves of the node's, so unmounts there (volumes, rootfs) still reach
// the copies every sandbox keeps, and the cgroup submounts are detached here.
func SetupPrivateMounts() error {
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("making / a slave mount: %w", err)
	}
	mounts, err := readMounts()
	if err != nil {
		return err
	}
	for _, mp := range CgroupSubmounts(mounts) {
		if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("unmounting %s: %w", mp, err)
		}
	}
	return nil
}

// JoinCgroup moves pid into cgroup (a cgroupfs path) in every hierarchy where
// that cgroup exists. It reports the hierarchies it joined.
func JoinCgroup(pid int, cgroup string) ([]string, error) {
	mounts, err := readMounts()
	if err != nil {
		return nil, err
	}
	var joined []string
	var errs []error
	for _, h := range CgroupHierarchies(mounts) {
		dir := filepath.Join(h, cgroup)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", dir, err))
			continue
		}
		joined = append(joined, h)
	}
	return joined, errors.Join(errs...)
}
