package profiles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podsem/podsem/framework/catalogue"
)

func TestEveryEmbeddedProfileLoads(t *testing.T) {
	names := Names()
	for _, want := range []string{"crio", "gvisor", "kata", "windows"} {
		if !strings.Contains(" "+strings.Join(names, " ")+" ", " "+want+" ") {
			t.Errorf("no embedded profile %q (have %v)", want, names)
		}
	}
	for _, name := range names {
		p, err := Load(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if p.Name != name || p.Description == "" {
			t.Errorf("%s: name %q, description %q", name, p.Name, p.Description)
		}
		// Parse checks these too; spelled out here because they are the contract.
		for _, d := range p.Divergences {
			if !inCatalogue(d.ID) {
				t.Errorf("%s: %s is not in catalogue.Entries", name, d.ID)
			}
			if strings.TrimSpace(d.Reason) == "" || !strings.HasPrefix(d.Link, "https://") {
				t.Errorf("%s: %s needs a reason and an https link, has %q %q", name, d.ID, d.Reason, d.Link)
			}
		}
	}
}

func inCatalogue(id string) bool {
	for _, e := range catalogue.Entries {
		if e.ID == id {
			return true
		}
	}
	return false
}

func TestLoadUnknownNamesTheKnownOnes(t *testing.T) {
	_, err := Load("nosuch")
	if err == nil || !strings.Contains(err.Error(), "gvisor") || !strings.Contains(err.Error(), "kata") {
		t.Fatalf("want an error listing the known profiles, got %v", err)
	}
}

func TestLoadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mine.yaml")
	id := catalogue.Entries[0].ID
	body := "description: my runtime\ndivergences:\n  - id: " + id + "\n    kind: environment\n    reason: nested\n    link: https://example.org/1\n    match: nested\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := p.Lookup(id); p.Name != "mine" || !ok || d.Kind != Environment {
		t.Fatalf("got %+v", p)
	}
}

func TestParseRejects(t *testing.T) {
	id := catalogue.Entries[0].ID
	entry := func(fields string) string { return "description: x\ndivergences:\n  - " + fields + "\n" }
	valid := entry("{id: " + id + ", kind: runtime, reason: r, link: https://x, match: m}")
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown ID", entry("{id: XYZ-99, kind: runtime, reason: r, link: https://x, match: m}"), "not a catalogue ID"},
		{"no reason", entry("{id: " + id + ", kind: runtime, link: https://x, match: m}"), "no reason"},
		{"no link", entry("{id: " + id + ", kind: runtime, reason: r, match: m}"), "not an upstream URL"},
		{"bad kind", entry("{id: " + id + ", kind: flaky, reason: r, link: https://x, match: m}"), `kind "flaky"`},
		{"unknown field", entry("{id: " + id + ", kind: runtime, reason: r, link: https://x, match: m, note: n}"), "unknown field"},
		{"twice", valid + "  - {id: " + id + ", kind: runtime, reason: r, link: https://x, match: m}\n", "listed twice"},
		{"no match", entry("{id: " + id + ", kind: runtime, reason: r, link: https://x}"), "no match"},
		{"bad match", entry("{id: " + id + ", kind: runtime, reason: r, link: https://x, match: 'a(b'}"), "match: error parsing regexp"},
		{"supports a Required ID", valid + "supports: [NET-02]\n", "NET-02 is Required"},
		{"supports an unknown ID", valid + "supports: [XYZ-99]\n", `"XYZ-99" is not a catalogue ID`},
		{"supports twice", valid + "supports: [PID-02, PID-02]\n", "PID-02 listed twice"},
		{"supports a divergence", entry("{id: PID-02, kind: runtime, reason: r, link: https://x, match: m}") + "supports: [PID-02]\n", "PID-02 is also listed as a divergence"},
	} {
		if _, err := Parse("t", []byte(tc.yaml)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: want an error with %q, got %v", tc.name, tc.want, err)
		}
	}
}

// A divergence covers only the failure it documents: by message or by location.
func TestCovers(t *testing.T) {
	y := "description: x\ndivergences:\n" +
		"  - {id: IPC-03, kind: runtime, reason: r, link: https://x, match: 'posix-mq .*function not implemented|ipc_test\\.go:77'}\n" +
		"supports: [PID-02, PID-03]\n"
	p, err := Parse("t", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	d, _ := p.Lookup("IPC-03")
	for _, tc := range []struct {
		message, location string
		want              bool
	}{
		{"podprobe posix-mq create q in x/a: function not implemented", "pod/ipc_test.go:61", true},
		{"container b receives from POSIX queue /q what container a sent", "pod/ipc_test.go:77", true},
		{"container b receives from POSIX queue /q what container a sent", "pod/ipc_test.go:62", false},
		{"Timed out after 60s waiting for pod ipc", "", false},
	} {
		if got := d.Covers(tc.message, tc.location); got != tc.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", tc.message, tc.location, got, tc.want)
		}
	}
	if !p.Claims("PID-03") || p.Claims("PID-04") || p.Claims("IPC-03") {
		t.Errorf("claims: %v", p.Supports)
	}
	var none *Profile
	if none.Claims("PID-02") {
		t.Error("a nil profile claims nothing")
	}
}

func TestCheckClaim(t *testing.T) {
	if err := CheckClaim("PID-02"); err != nil {
		t.Errorf("PID-02 is Optional: %v", err)
	}
	for _, id := range []string{"NET-01", "NOPE-01", ""} {
		if CheckClaim(id) == nil {
			t.Errorf("%q must not be claimable", id)
		}
	}
}

// gvisor's matches cover the failures measured under gVisor on the kind node
// (hack/e2e.sh with RUNTIME_CLASS=gvisor), and not a failure of another shape.
func TestGvisorCoversWhatWasMeasured(t *testing.T) {
	p, err := Load("gvisor")
	if err != nil {
		t.Fatal(err)
	}
	notReady := "pod podsem-x/p not Ready within 1m0s: phase Pending; a waiting: ErrImageNeverPull"
	for _, tc := range []struct{ id, message, location string }{
		{"IPC-03", `podprobe posix-mq send ipc03-8561b480e6bc ipc03-msg-164679500b36 in container a: exit 1, {"name":"/ipc03-8561b480e6bc","error":"function not implemented","errno":"ENOSYS"}`, "pod/ipc_test.go:61"},
		{"IPC-04", "/dev/shm in container a is POSIX shared memory (tmpfs)\nExpected\n    <string>: 9p\nto equal\n    <string>: tmpfs", "pod/ipc_test.go:76"},
		{"FS-03", "the Memory emptyDir at /mem in container a is a tmpfs\nExpected\n    <string>: 9p\nto equal\n    <string>: tmpfs", "pod/filesystem_test.go:67"},
		{"CG-01", "container b keeps running: phase Running; a terminated: OOMKilled, exit 255, ready=false, restarts=0; b terminated: OOMKilled, exit 255\nExpected\n    <*v1.ContainerStateRunning | 0x0>: nil\nnot to be nil", "pod/cgroup_test.go:72"},
		{"CG-02", "container a's cgroup (v1, /c4762) limits memory to its own limit, 50331648 bytes\nExpected\n    <int64>: 150994944\nto equal\n    <int64>: 50331648", "pod/cgroup_test.go:97"},
		{"CG-03", "pod podsem-cg-pod-4422/cg-pod not container c killed by SIGKILL (exit 137, OOMKilled) after the trigger within 20s: phase Running; a running, ready=true, restarts=0; b running, ready=true, restarts=0; c running, ready=true, restarts=0", "pod/cgroup_test.go:132"},
		{"HOST-01", `pod podsem-host-net-4580/host-net not Ready within 1m0s: phase Running; a running, ready=false, restarts=0; b running, ready=true, restarts=0; events: Unhealthy: (combined from similar events): Readiness probe failed: {"proto":"tcp","addr":"127.0.0.1:20806","result":"error","sent":"podprobe-2c98f39787161adc","error":"dial tcp 127.0.0.1:20806: connect: network is unreachable","errno":"ENETUNREACH"}`, "pod/host_test.go:36"},
		{"HOST-01", `pod podsem-host-net-4581/host-net not Ready within 1m0s: phase Running; a running, ready=false, restarts=0; b running, ready=true, restarts=0; events: Unhealthy: (combined from similar events): Startup probe failed: {"proto":"tcp","addr":"127.0.0.1:20806","result":"error","sent":"podprobe-2c98f39787161adc","error":"dial tcp 127.0.0.1:20806: connect: network is unreachable","errno":"ENETUNREACH"}`, "pod/host_test.go:36"},
		{"HOST-02", `another hostIPC pod opens the queue by key 130015885 and sends: podprobe sysv-msg send 130015885 host02-peer in container a: exit 1, {"key":130015885,"error":"no such file or directory","errno":"ENOENT"}`, "pod/host_test.go:100"},
		{"HOST-03", "container a sees the entrypoint of another pod on its node, in that pod's PID namespace: only the node's PID namespace holds both", "pod/host_test.go:150"},
		{"USER-01", `pod podsem-userns-7919/userns not Ready within 1m0s: phase Pending; a waiting: ContainerCreating; events: FailedCreatePodSandBox: Failed to create pod sandbox: rpc error: code = Unknown desc = failed to start sandbox "009c": failed to create containerd task: failed to create shim task: OCI runtime create failed: creating container: cannot create gofer process: gofer: error setting namespace of type user and path "/run/containerd/pinned-namespaces/user": invalid argument`, "pod/userns_test.go:22"},
		{"NET-07", "container a reads the pod's net.ipv4.ip_local_port_range, chosen for this run\nExpected\n    <string>: 16000 65535\nto equal\n    <string>: 48602 48703", "pod/sysctl_test.go:50"},
		{"IPC-06", `podprobe file read /proc/sys/kernel/shm_rmid_forced in container a: exit 1, {"path":"/proc/sys/kernel/shm_rmid_forced","error":"open /proc/sys/kernel/shm_rmid_forced: no such file or directory","errno":"ENOENT"}`, "pod/sysctl_test.go:64"},
	} {
		d, ok := p.Lookup(tc.id)
		if !ok {
			t.Errorf("%s: not listed", tc.id)
			continue
		}
		if !d.Covers(tc.message, tc.location) {
			t.Errorf("%s: match %q does not cover the measured failure %q", tc.id, d.Match, tc.message)
		}
		if d.Covers(notReady, tc.location) {
			t.Errorf("%s: match %q covers a pod that never started, which is no divergence", tc.id, d.Match)
		}
	}
	// A range the pod did set, only wrong, is no missing sysctl support.
	if d, _ := p.Lookup("NET-07"); d.Covers("container b reads the pod's net.ipv4.ip_local_port_range, chosen for this run\nExpected\n    <string>: 32768 60999\nto equal\n    <string>: 48602 48703", "") {
		t.Error("NET-07 covers a range other than gVisor's default")
	}
	// Another filesystem than 9p behind /dev/shm is not the wrapper's shape.
	if d, _ := p.Lookup("IPC-04"); d.Covers("/dev/shm in container a is POSIX shared memory (tmpfs)\nExpected\n    <string>: overlay\nto equal\n    <string>: tmpfs", "") {
		t.Error("IPC-04 covers an overlay /dev/shm")
	}
}
