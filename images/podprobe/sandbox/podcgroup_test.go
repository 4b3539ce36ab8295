package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A v1 layout in a temporary directory (statfs says tmpfs, not cgroup2): the
// pod's cgroup is found in the memory hierarchy, under either driver's name,
// and its cpu directory is the same path in the cpu hierarchy.
func TestPodCgroupIsFoundUnderEitherDriver(t *testing.T) {
	const uid = "0ba347d2-d905-4f25-8da9-802059cbc51c"
	for _, c := range []struct{ driver, rel string }{
		{"cgroupfs, in kind", "kubelet/kubepods/burstable/pod" + uid},
		{"systemd", "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + strings.ReplaceAll(uid, "-", "_") + ".slice"},
	} {
		root := t.TempDir()
		mem, cpu := filepath.Join(root, "memory", c.rel), filepath.Join(root, "cpu", c.rel)
		write := func(dir, name, value string) {
			t.Helper()
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte(value+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write(mem, "memory.limit_in_bytes", "134217728")
		write(filepath.Join(mem, "690ec15800b442376a22e378b2c1101c75d979c5e72ca6982cf759cff83f9637"), "memory.limit_in_bytes", "9223372036854771712")
		write(filepath.Join(root, "memory", "kubelet/kubepods/burstable/pod11111111-2222-4333-8444-555555555555"), "memory.limit_in_bytes", "1")
		write(cpu, "cpu.cfs_quota_us", "50000")
		write(cpu, "cpu.cfs_period_us", "100000")

		got, err := LocatePodCgroup(root, uid)
		if err != nil {
			t.Fatalf("%s: %v (%+v)", c.driver, err, got)
		}
		if got.Version != 1 || got.Path != "/"+c.rel || got.Dir != mem {
			t.Errorf("%s: version %d, path %q, dir %q; want 1, %q, %q", c.driver, got.Version, got.Path, got.Dir, "/"+c.rel, mem)
		}
		if got.MemoryLimitBytes == nil || *got.MemoryLimitBytes != 128<<20 {
			t.Errorf("%s: memory limit %v, want %d", c.driver, got.MemoryLimitBytes, 128<<20)
		}
		if got.CPUQuotaUs == nil || *got.CPUQuotaUs != 50000 || got.CPUPeriodUs == nil || *got.CPUPeriodUs != 100000 {
			t.Errorf("%s: cpu quota/period %v/%v, want 50000/100000", c.driver, got.CPUQuotaUs, got.CPUPeriodUs)
		}
	}
}

func TestPodCgroupOfAnUnknownPodIsNotFound(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "memory", "kubepods", "pod11111111-2222-4333-8444-555555555555"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := LocatePodCgroup(root, "0ba347d2-d905-4f25-8da9-802059cbc51c")
	if err == nil || len(got.Candidates) != 0 {
		t.Errorf("want ESRCH and no candidates, got %v, %+v", err, got)
	}
}
