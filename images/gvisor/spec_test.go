package gvisor

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestExpandSlice(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"-.slice", "/"},
		{"system.slice", "/system.slice"},
		{"kubelet.slice", "/kubelet.slice"},
		{"kubelet-kubepods.slice", "/kubelet.slice/kubelet-kubepods.slice"},
		{"kubelet-kubepods-besteffort-pod1234_ab.slice",
			"/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod1234_ab.slice"},
	} {
		got, err := ExpandSlice(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ExpandSlice(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", ".slice", "kubelet", "a--b.slice", "-a.slice", "a-.slice", "a/b.slice", "kubelet.scope"} {
		if got, err := ExpandSlice(bad); err == nil {
			t.Errorf("ExpandSlice(%q) = %q, want an error", bad, got)
		}
	}
}

func TestCgroupfsPath(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		systemd  bool
	}{
		{"kubelet-kubepods-burstable-podab_cd.slice:cri-containerd:0123abc",
			"/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/kubelet-kubepods-burstable-podab_cd.slice/cri-containerd-0123abc.scope", true},
		{"kubelet-kubepods-podab_cd.slice:cri-containerd:0123abc",
			"/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-podab_cd.slice/cri-containerd-0123abc.scope", true},
		// No prefix: the unit is name.scope; a slice name stays a slice; no slice: system.slice.
		{"machine.slice::web", "/machine.slice/web.scope", true},
		{"machine.slice:x:sub.slice", "/machine.slice/sub.slice", true},
		{":docker:abc", "/system.slice/docker-abc.scope", true},
		// cgroupfs paths are left alone.
		{"/kubepods/besteffort/pod1/abc", "/kubepods/besteffort/pod1/abc", false},
		{"relative/path", "relative/path", false},
	} {
		got, systemd, err := CgroupfsPath(tc.in)
		if err != nil || got != tc.want || systemd != tc.systemd {
			t.Errorf("CgroupfsPath(%q) = %q, %v, %v; want %q, %v", tc.in, got, systemd, err, tc.want, tc.systemd)
		}
	}
	for _, bad := range []string{"kubelet:cri-containerd:abc", "a--b.slice:p:n", "kubelet.slice:p:"} {
		if got, _, err := CgroupfsPath(bad); err == nil {
			t.Errorf("CgroupfsPath(%q) = %q, want an error", bad, got)
		}
	}
}

const (
	podSlice  = "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-podee712acc_2add_48db_9e65_7a53eea79c57.slice"
	sandboxID = "78523d825765fc8a27cab22d952a698b7acca83fcbefe074e1e97a2e95fc7d8b"
	appID     = "3e7a93c2ad5f4fc4faf0ef70ccfcee6935e473ed6feda5c5b59f42bcaecf1c71"
)

func decode(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRewriteSpecSandbox(t *testing.T) {
	raw, err := os.ReadFile("testdata/guaranteed-sandbox.json")
	if err != nil {
		t.Fatal(err)
	}
	out, info, err := RewriteSpec(raw, Rewrite{})
	if err != nil {
		t.Fatal(err)
	}
	wantCgroup := podSlice + "/cri-containerd-" + sandboxID + ".scope"
	if info.Subcontainer || info.SandboxID != sandboxID || info.Cgroup != wantCgroup {
		t.Errorf("info = %+v", info)
	}
	got := decode(t, out)
	if p := got["linux"].(map[string]any)["cgroupsPath"]; p != wantCgroup {
		t.Errorf("cgroupsPath = %v, want %s", p, wantCgroup)
	}
	if p := got["annotations"].(map[string]any)[AnnotationCgroupParent]; p != podSlice {
		t.Errorf("%s = %v, want the pod's slice %s", AnnotationCgroupParent, p, podSlice)
	}
	assertOnlyChanged(t, decode(t, raw), got, "linux.cgroupsPath", "annotations."+AnnotationCgroupParent)

	// A second rewrite changes nothing.
	again, _, err := RewriteSpec(out, Rewrite{})
	if err != nil || again != nil {
		t.Errorf("rewriting a rewritten spec: %s, %v; want no change", again, err)
	}
}

func TestRewriteSpecAppContainer(t *testing.T) {
	raw, err := os.ReadFile("testdata/guaranteed-container.json")
	if err != nil {
		t.Fatal(err)
	}
	out, info, err := RewriteSpec(raw, Rewrite{})
	if err != nil {
		t.Fatal(err)
	}
	wantCgroup := podSlice + "/cri-containerd-" + appID + ".scope"
	if !info.Subcontainer || info.SandboxID != sandboxID || info.Cgroup != wantCgroup {
		t.Errorf("info = %+v", info)
	}
	got := decode(t, out)
	if _, ok := got["annotations"].(map[string]any)[AnnotationCgroupParent]; ok {
		t.Errorf("an app container got %s; only the sandbox may", AnnotationCgroupParent)
	}
	assertOnlyChanged(t, decode(t, raw), got, "linux.cgroupsPath")
	// Numbers keep their exact form (limits are int64; float64 would round them).
	if !strings.Contains(string(out), `"limit":50331648`) {
		t.Errorf("memory limit not kept verbatim: %s", out)
	}
}

func TestRewriteSpecKeepsLargeNumbers(t *testing.T) {
	raw := []byte(`{"annotations":{"io.kubernetes.cri.container-type":"container"},
		"linux":{"cgroupsPath":"a.slice:p:n","resources":{"memory":{"limit":9223372036854775807}}}}`)
	out, _, err := RewriteSpec(raw, Rewrite{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "9223372036854775807") {
		t.Errorf("large number altered: %s", out)
	}
}

func TestRewriteSpecLeavesOthersAlone(t *testing.T) {
	for name, raw := range map[string]string{
		"cgroupfs path": `{"annotations":{"io.kubernetes.cri.container-type":"container"},"linux":{"cgroupsPath":"/kubepods/pod1/abc"}}`,
		"no cgroup":     `{"linux":{}}`,
		"no linux":      `{"process":{"args":["sh"]}}`,
		"parent preset": `{"annotations":{"io.kubernetes.cri.container-type":"sandbox","dev.gvisor.spec.cgroup-parent":"/x"},"linux":{"cgroupsPath":"/x/y"}}`,
	} {
		out, _, err := RewriteSpec([]byte(raw), Rewrite{})
		if err != nil || out != nil {
			t.Errorf("%s: got %s, %v; want no change", name, out, err)
		}
	}
	// A sandbox with a cgroupfs path still gets its parent annotation.
	out, _, err := RewriteSpec([]byte(`{"annotations":{"io.kubernetes.cri.container-type":"sandbox"},"linux":{"cgroupsPath":"/kubepods/pod1/abc"}}`), Rewrite{})
	if err != nil || !strings.Contains(string(out), `"dev.gvisor.spec.cgroup-parent":"/kubepods/pod1"`) {
		t.Errorf("cgroupfs sandbox: %s, %v", out, err)
	}
	if _, _, err := RewriteSpec([]byte(`{"linux":{"cgroupsPath":"bad:x:y"}}`), Rewrite{}); err == nil {
		t.Error("an invalid systemd path gave no error")
	}
	if _, _, err := RewriteSpec([]byte(`not json`), Rewrite{}); err == nil {
		t.Error("invalid JSON gave no error")
	}
}

func TestRewriteBundle(t *testing.T) {
	dir := t.TempDir()
	raw, err := os.ReadFile("testdata/guaranteed-sandbox.json")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "config.json")
	if err := os.WriteFile(file, raw, 0o640); err != nil {
		t.Fatal(err)
	}
	info, err := RewriteBundle(dir, Rewrite{})
	if err != nil || info.Subcontainer {
		t.Fatalf("RewriteBundle: %+v, %v", info, err)
	}
	out, _ := os.ReadFile(file)
	if !strings.Contains(string(out), AnnotationCgroupParent) {
		t.Error("config.json not rewritten")
	}
	if st, _ := os.Stat(file); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640 kept", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("files left in the bundle: %v", entries)
	}
}

// assertOnlyChanged fails unless before and after differ exactly at the given
// dotted paths (compared as decoded JSON).
func assertOnlyChanged(t *testing.T, before, after map[string]any, paths ...string) {
	t.Helper()
	for _, p := range paths {
		keys := strings.Split(p, ".")
		if len(keys) > 2 { // annotation names contain dots
			keys = []string{keys[0], strings.Join(keys[1:], ".")}
		}
		for _, m := range []map[string]any{before, after} {
			parent := m
			for _, k := range keys[:len(keys)-1] {
				parent, _ = parent[k].(map[string]any)
			}
			if parent != nil {
				delete(parent, keys[len(keys)-1])
			}
		}
	}
	if !reflect.DeepEqual(before, after) {
		t.Errorf("the rewrite changed more than %v", paths)
	}
}

func pidNamespaceOf(t *testing.T, out []byte) any {
	t.Helper()
	for _, n := range decode(t, out)["linux"].(map[string]any)["namespaces"].([]any) {
		if ns := n.(map[string]any); ns["type"] == "pid" {
			return ns["path"]
		}
	}
	return nil
}

func TestRewriteSpecPIDNamespaces(t *testing.T) {
	rw := Rewrite{
		PIDNamespace: "/run/runsc-wrapper/pidns/new",
		TargetPIDNamespace: func(pid int) (string, bool) {
			if pid == 4242 { // the holder of container "target"
				return "/run/runsc-wrapper/pidns/target", true
			}
			return "", false
		},
	}
	// An app container's own new PID namespace gets its name (and nothing else changes).
	raw, err := os.ReadFile("testdata/guaranteed-container.json")
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := RewriteSpec(raw, rw)
	if err != nil {
		t.Fatal(err)
	}
	if got := pidNamespaceOf(t, out); got != rw.PIDNamespace {
		t.Errorf("own PID namespace path %v, want %s", got, rw.PIDNamespace)
	}
	before, after := decode(t, raw), decode(t, out)
	for _, m := range []map[string]any{before, after} {
		linux := m["linux"].(map[string]any)
		delete(linux, "cgroupsPath")
		delete(linux, "namespaces")
	}
	if !reflect.DeepEqual(before, after) {
		t.Error("the rewrite changed more than cgroupsPath and the PID namespace")
	}

	app := func(pidns string) []byte {
		return []byte(`{"annotations":{"io.kubernetes.cri.container-type":"container"},"linux":{"namespaces":[` +
			`{"type":"ipc","path":"/proc/7/ns/ipc"},` + pidns + `]}}`)
	}
	for _, tc := range []struct {
		name, pidns string
		want        any
	}{
		// An ephemeral container targeting a container: /proc/<its holder>/ns/pid.
		{"target's holder", `{"type":"pid","path":"/proc/4242/ns/pid"}`, "/run/runsc-wrapper/pidns/target"},
		// shareProcessNamespace: the sandbox's PID, which runsc resolves itself.
		{"sandbox's", `{"type":"pid","path":"/proc/7/ns/pid"}`, nil},
		{"not a /proc path", `{"type":"pid","path":"/run/x/ns/pid"}`, nil},
		{"trailing junk", `{"type":"pid","path":"/proc/4242/ns/pidx"}`, nil},
	} {
		out, _, err := RewriteSpec(app(tc.pidns), rw)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if tc.want == nil {
			if out != nil {
				t.Errorf("%s: changed: %s", tc.name, out)
			}
			continue
		}
		if got := pidNamespaceOf(t, out); got != tc.want {
			t.Errorf("%s: path %v, want %v", tc.name, got, tc.want)
		}
	}
	// The pod's sandbox keeps its PID namespace as it is.
	sandbox := []byte(`{"annotations":{"io.kubernetes.cri.container-type":"sandbox"},"linux":{"namespaces":[{"type":"pid"}]}}`)
	if out, _, err := RewriteSpec(sandbox, rw); err != nil || out != nil {
		t.Errorf("sandbox: %s, %v; want no change", out, err)
	}
	// Without names to give, nothing changes.
	if out, _, err := RewriteSpec(app(`{"type":"pid"}`), Rewrite{}); err != nil || out != nil {
		t.Errorf("no Rewrite: %s, %v", out, err)
	}
}
