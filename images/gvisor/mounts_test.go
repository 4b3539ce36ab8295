package gvisor

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestCgroupSubmountsOfKindNode(t *testing.T) {
	f, err := os.Open("testdata/mountinfo-kind-node.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mounts, err := ParseMountinfo(f)
	if err != nil {
		t.Fatal(err)
	}
	sub := CgroupSubmounts(mounts)
	// kind's entrypoint: kubelet and kubelet.slice of each of the 9 v1 hierarchies.
	if len(sub) != 18 {
		t.Fatalf("%d submounts, want 18: %q", len(sub), sub)
	}
	for _, mp := range sub {
		if !strings.HasPrefix(mp, "/sys/fs/cgroup/") || !(strings.HasSuffix(mp, "/kubelet") || strings.HasSuffix(mp, "/kubelet.slice")) {
			t.Errorf("unexpected submount %q", mp)
		}
	}
	h := CgroupHierarchies(mounts)
	if len(h) != 10 || !contains(h, "/sys/fs/cgroup/memory") || !contains(h, "/sys/fs/cgroup/unified") || contains(h, "/sys/fs/cgroup/memory/kubelet") {
		t.Errorf("hierarchies %q", h)
	}
}

func TestCgroupSubmountsOrderAndLoneSubroots(t *testing.T) {
	info := `30 20 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu
31 30 0:29 /a /sys/fs/cgroup/cpu/a rw - cgroup cgroup rw,cpu
32 31 0:29 /a/b /sys/fs/cgroup/cpu/a/b rw - cgroup cgroup rw,cpu
33 20 0:40 /docker/xyz /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
34 20 0:41 /x /mnt/with\040space rw shared:5 - cgroup2 cgroup2 rw
35 20 0:41 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
`
	mounts, err := ParseMountinfo(strings.NewReader(info))
	if err != nil {
		t.Fatal(err)
	}
	// Deepest first; a hierarchy mounted only at a sub-root (a cgroup namespace
	// of the host's making) is the only view there is and stays.
	want := []string{"/sys/fs/cgroup/cpu/a/b", "/sys/fs/cgroup/cpu/a", "/mnt/with space"}
	if got := CgroupSubmounts(mounts); !reflect.DeepEqual(got, want) {
		t.Errorf("CgroupSubmounts = %q, want %q", got, want)
	}
	if _, err := ParseMountinfo(strings.NewReader("garbage line\n")); err == nil {
		t.Error("a malformed line gave no error")
	}
}
