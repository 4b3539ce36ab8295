package sandbox

import (
	"strings"
	"testing"
)

// The cgroup lines of one pod's processes as each cgroup driver, cgroup
// version and cgroup namespace shows them.
func TestPodAndContainerAreFoundInEveryCgroupLayout(t *testing.T) {
	const (
		uid       = "0ba347d2-d905-4f25-8da9-802059cbc51c"
		container = "690ec15800b442376a22e378b2c1101c75d979c5e72ca6982cf759cff83f9637"
		sandbox   = "8b00adf86a277cf2898c4434a1bf153c4bff174d468971e11dc6c67f63b173e6"
	)
	spellings := []string{uid, strings.ReplaceAll(uid, "-", "_")}
	for _, c := range []struct {
		layout, file string
		container    bool
	}{
		{"cgroupfs, v1", "12:pids:/kubepods/besteffort/pod" + uid + "/" + container + "\n1:name=systemd:/kubepods/besteffort/pod" + uid + "/" + container + "\n", true},
		{"cgroupfs, v1, in kind", "0::/kubelet/kubepods/besteffort/pod" + uid + "/" + sandbox + "\n", false},
		{"systemd, v2, containerd", "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + strings.ReplaceAll(uid, "-", "_") + ".slice/cri-containerd-" + container + ".scope\n", true},
		{"systemd, v2, CRI-O", "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + strings.ReplaceAll(uid, "-", "_") + ".slice/crio-" + sandbox + ".scope\n", false},
		{"a private cgroup namespace", "0::/../../pod" + uid + "/" + container + "\n", true},
		{"guaranteed QoS, upper-case hex", "0::/kubepods/pod" + strings.ToUpper(uid) + "/" + strings.ToUpper(container) + "\n", true},
	} {
		line := podLine(c.file, spellings)
		if line == "" {
			t.Errorf("%s: the pod is not found in %q", c.layout, c.file)
			continue
		}
		if got := containerOf(line, []string{container}); (got == container) != c.container {
			t.Errorf("%s: containerOf(%q) = %q, want the container: %t", c.layout, line, got, c.container)
		}
	}
	if line := podLine("0::/kubepods/besteffort/pod11111111-2222-4333-8444-555555555555/"+container+"\n", spellings); line != "" {
		t.Errorf("another pod's cgroup is taken for the pod's: %q", line)
	}
}

func TestInitOfOwnPIDNamespace(t *testing.T) {
	for _, c := range []struct {
		nspid []int
		want  bool
	}{
		{[]int{207549, 1}, true},
		{[]int{300, 20, 1}, true},
		{[]int{1}, false}, // the node's own init
		{[]int{207549, 16}, false},
		{nil, false},
	} {
		if got := (Process{NSpid: c.nspid}).InitOfOwnPIDNamespace(); got != c.want {
			t.Errorf("NSpid %v: init of its own PID namespace %t, want %t", c.nspid, got, c.want)
		}
	}
}
