package faults

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/podsem/podsem/framework/catalogue"
)

// testdata holds config.json files containerd v2 wrote in the kind node for the
// sandbox and an app container of a plain pod (t-runc) and a hostUsers: false pod.
func load(t *testing.T, name string) *Container {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	bundle := t.TempDir()
	return &Container{Spec: &s, Bundle: bundle, Self: "/usr/local/bin/podsem-fault",
		PodInitContainers: func(string, string) ([]string, error) { return []string{"init"}, nil }}
}

func apply(t *testing.T, name string, c *Container) {
	t.Helper()
	f, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Apply(c); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func nsPath(c *Container, typ specs.LinuxNamespaceType) (string, bool) {
	ns, ok := c.namespace(typ)
	if !ok {
		return "", false
	}
	return ns.Path, true
}

// sandboxFaults are the faults about the sandbox container itself.
var sandboxFaults = map[string]bool{"pid-no-reap": true, "hostname-fixed": true}

func TestOnlySandboxFaultsTouchAPlainSandbox(t *testing.T) {
	StateDir = t.TempDir()
	for _, f := range All {
		before := load(t, "t-runc-sandbox")
		after := load(t, "t-runc-sandbox")
		if err := f.Apply(after); err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		a, _ := json.Marshal(before.Spec)
		b, _ := json.Marshal(after.Spec)
		changed := string(a) != string(b)
		if changed != sandboxFaults[f.Name] {
			t.Errorf("%s: sandbox spec changed=%t", f.Name, changed)
		}
	}
}

func TestNamespaceFaults(t *testing.T) {
	for _, tc := range []struct {
		fault string
		ns    specs.LinuxNamespaceType
	}{{"net-private", specs.NetworkNamespace}, {"ipc-private", specs.IPCNamespace}, {"uts-private", specs.UTSNamespace}} {
		c := load(t, "t-runc-container")
		if p, _ := nsPath(c, tc.ns); p == "" {
			t.Fatalf("testdata: container does not join the sandbox's %s namespace", tc.ns)
		}
		apply(t, tc.fault, c)
		if p, ok := nsPath(c, tc.ns); !ok || p != "" {
			t.Errorf("%s: %s namespace path %q, want a new namespace", tc.fault, tc.ns, p)
		}
	}
	c := load(t, "t-runc-container")
	apply(t, "net-private", c)
	if c.Spec.Hooks == nil || len(c.Spec.Hooks.CreateRuntime) != 1 || c.Spec.Hooks.CreateRuntime[0].Args[1] != "loopback-up" {
		t.Errorf("net-private: no loopback-up hook: %+v", c.Spec.Hooks)
	}
	c = load(t, "t-runc-container")
	apply(t, "uts-private", c)
	if c.Spec.Hostname == "" || c.Spec.Hostname == "t-runc" {
		t.Errorf("uts-private: hostname %q", c.Spec.Hostname)
	}
	c = load(t, "t-runc-container")
	apply(t, "ipc-private", c)
	for _, m := range c.Spec.Mounts {
		if m.Destination == "/dev/shm" && m.Type != "tmpfs" {
			t.Errorf("ipc-private: /dev/shm is %+v, want a private tmpfs", m)
		}
	}
}

func TestPIDAlwaysSharedJoinsTheSandbox(t *testing.T) {
	c := load(t, "t-runc-container")
	ipc, _ := nsPath(c, specs.IPCNamespace)
	apply(t, "pid-always-shared", c)
	pid, _ := nsPath(c, specs.PIDNamespace)
	if want := filepath.Join(filepath.Dir(ipc), "pid"); pid != want {
		t.Errorf("pid namespace path %q, want %q", pid, want)
	}
}

func TestPIDNoReapReplacesPause(t *testing.T) {
	c := load(t, "t-runc-sandbox")
	apply(t, "pid-no-reap", c)
	found := false
	for _, m := range c.Spec.Mounts {
		if m.Destination == c.Spec.Process.Args[0] && m.Source == c.Self {
			found = true
		}
	}
	if !found {
		t.Errorf("pid-no-reap: %s not mounted over %s", c.Self, c.Spec.Process.Args[0])
	}
}

func TestCgroupSharedDropsLimits(t *testing.T) {
	c := load(t, "t-runc-container")
	c.Spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: ptr(int64(64 << 20))}
	c.Spec.Linux.Resources.CPU = &specs.LinuxCPU{Quota: ptr(int64(25000)), Period: ptr(uint64(100000))}
	apply(t, "cgroup-shared", c)
	if c.Spec.Linux.Resources.Memory.Limit != nil || c.Spec.Linux.Resources.CPU.Quota != nil {
		t.Errorf("limits kept: %+v %+v", c.Spec.Linux.Resources.Memory, c.Spec.Linux.Resources.CPU)
	}
}

func TestImageVolumeRWMakesOnlyImageVolumesWritable(t *testing.T) {
	c := load(t, "t-runc-container")
	image := "/run/containerd/io.containerd.grpc.v1.cri/image-volumes/f339e6c0fe4b/3c1bd8bd6ef0"
	c.Spec.Mounts = append(c.Spec.Mounts,
		specs.Mount{Destination: "/image", Type: "bind", Source: image, Options: []string{"rbind", "rprivate", "ro"}},
		specs.Mount{Destination: "/handoff-ro", Type: "bind", Source: "/var/lib/kubelet/pods/uid/volumes/kubernetes.io~empty-dir/handoff", Options: []string{"rbind", "rprivate", "ro"}})
	apply(t, "image-volume-rw", c)
	for _, m := range c.Spec.Mounts {
		switch m.Destination {
		case "/image":
			if slices.Contains(m.Options, "ro") || !slices.Contains(m.Options, "rw") || !slices.Contains(m.Options, "rbind") {
				t.Errorf("image volume options %v, want rbind and rw, no ro", m.Options)
			}
		case "/handoff-ro":
			if !slices.Contains(m.Options, "ro") {
				t.Errorf("a read-only emptyDir mount lost ro: %v", m.Options)
			}
		}
	}
}

func TestCgroupOutsidePodMovesTheContainerBesideThePod(t *testing.T) {
	for _, tc := range []struct{ driver, path, want string }{
		{"systemd", "kubelet-kubepods-besteffort-pod9a0f2687_61e4_4e7b_bd51_4febaf4d4ee4.slice:cri-containerd:621f5b2f85aa",
			"kubelet-kubepods-besteffort.slice:cri-containerd:621f5b2f85aa"},
		{"cgroupfs", "/kubelet/kubepods/burstable/pod9a0f2687-61e4-4e7b-bd51-4febaf4d4ee4/621f5b2f85aa",
			"/kubelet/kubepods/burstable/621f5b2f85aa"},
	} {
		c := load(t, "t-runc-container")
		c.Spec.Linux.CgroupsPath = tc.path
		apply(t, "cgroup-outside-pod", c)
		if c.Spec.Linux.CgroupsPath != tc.want {
			t.Errorf("%s: cgroupsPath %q, want %q", tc.driver, c.Spec.Linux.CgroupsPath, tc.want)
		}
	}
	c := load(t, "t-runc-container")
	c.Spec.Linux.CgroupsPath = "/621f5b2f85aa"
	if err := c.CgroupOutsidePod(); err == nil {
		t.Error("a container cgroup with no pod cgroup above it is moved without an error")
	}
}

func TestRootfsSharedUsesTheFirstContainersRoot(t *testing.T) {
	StateDir = t.TempDir()
	first, second := load(t, "t-runc-container"), load(t, "t-runc-container")
	if err := os.MkdirAll(filepath.Join(first.Bundle, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	apply(t, "rootfs-shared", first)
	apply(t, "rootfs-shared", second)
	if want := filepath.Join(first.Bundle, "rootfs"); second.Spec.Root.Path != want {
		t.Errorf("second container's root %q, want the first's %q", second.Spec.Root.Path, want)
	}
}

func TestVolumeCopyGivesPrivateCopies(t *testing.T) {
	StateDir = t.TempDir()
	vol := filepath.Join(t.TempDir(), "pods/uid/volumes/kubernetes.io~empty-dir/shared")
	if err := os.MkdirAll(vol, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(vol, "f"), []byte("before"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := load(t, "t-runc-container")
	c.Spec.Mounts = append(c.Spec.Mounts, specs.Mount{Destination: "/shared", Type: "bind", Source: vol})
	apply(t, "volume-copy", c)
	got := c.Spec.Mounts[len(c.Spec.Mounts)-1].Source
	if got == vol {
		t.Fatal("emptyDir still shared")
	}
	if b, err := os.ReadFile(filepath.Join(got, "f")); err != nil || string(b) != "before" {
		t.Errorf("copy lacks the volume's content: %q %v", b, err)
	}
}

func TestInitPrivateOnlyTouchesInitContainers(t *testing.T) {
	app := load(t, "t-runc-container") // named "a"
	apply(t, "init-private", app)
	if p, _ := nsPath(app, specs.NetworkNamespace); p == "" {
		t.Error("init-private moved an app container out of the pod's network")
	}
	init := load(t, "t-runc-container")
	init.Spec.Annotations[annotationName] = "init"
	apply(t, "init-private", init)
	if p, _ := nsPath(init, specs.NetworkNamespace); p != "" {
		t.Error("init-private left an init container in the pod's network")
	}
}

func TestUsernsSplitLeavesAppContainersUnmapped(t *testing.T) {
	c := load(t, "t-userns-container")
	apply(t, "userns-split", c)
	if _, ok := nsPath(c, specs.UserNamespace); ok {
		t.Error("the container still has a user namespace")
	}
	if len(c.Spec.Linux.UIDMappings) != 0 || len(c.Spec.Linux.GIDMappings) != 0 {
		t.Error("mappings kept")
	}
	for _, m := range c.Spec.Mounts {
		if len(m.UIDMappings) != 0 || slices.Contains(m.Options, "idmap") {
			t.Errorf("mount %s is still ID-mapped", m.Destination)
		}
	}
	plain := load(t, "t-runc-container")
	apply(t, "userns-split", plain)
	if _, ok := nsPath(plain, specs.UserNamespace); ok {
		t.Error("userns-split gave a user namespace to a pod without hostUsers: false")
	}
}

func TestNamespaceFaultsSpareHostNamespaces(t *testing.T) {
	c := load(t, "t-runc-container")
	dir := t.TempDir()
	HostNamespaceDir = dir
	defer func() { HostNamespaceDir = "/proc/self/ns" }()
	// The namespace the container joins is the node's own (a hostNetwork pod).
	f := filepath.Join(t.TempDir(), "netns")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(f, filepath.Join(dir, "net")); err != nil {
		t.Fatal(err)
	}
	ns, _ := c.namespace(specs.NetworkNamespace)
	ns.Path = f
	apply(t, "net-private", c)
	if p, _ := nsPath(c, specs.NetworkNamespace); p != f {
		t.Errorf("net-private moved a container out of the node's network namespace (path now %q)", p)
	}
}

func TestDeclaredIDsAreInTheCatalogue(t *testing.T) {
	known := map[string]bool{}
	for _, e := range catalogue.Entries {
		known[e.ID] = true
	}
	for _, f := range All {
		if len(f.MustFail) == 0 {
			t.Errorf("%s declares no ID it must fail", f.Name)
		}
		for _, id := range f.MustFail {
			if !known[id] {
				t.Errorf("%s: must-fail %s is not in the catalogue", f.Name, id)
			}
		}
		for id, why := range f.MayFail {
			if !known[id] || why == "" {
				t.Errorf("%s: may-fail %s unknown or without a reason", f.Name, id)
			}
		}
	}
}

func TestEveryFaultHasAContainerdHandler(t *testing.T) {
	dir := "../kind-node/files/etc/containerd/conf.d"
	for _, f := range Handlers() {
		raw, err := os.ReadFile(filepath.Join(dir, f.Handler()+".toml"))
		if err != nil {
			t.Errorf("%s: %v", f.Name, err)
			continue
		}
		if want := "/usr/local/libexec/podsem/" + f.Handler(); !strings.Contains(string(raw), want) {
			t.Errorf("%s.toml does not run %s", f.Handler(), want)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "fault-*.toml"))
	if len(files) != len(All) {
		t.Errorf("%d fault-*.toml drop-ins for %d faults", len(files), len(All))
	}
	benign, _ := filepath.Glob(filepath.Join(dir, "benign-*.toml"))
	if len(benign) != len(Benign) {
		t.Errorf("%d benign-*.toml drop-ins for %d benign handlers", len(benign), len(Benign))
	}
}

func ptr[T any](v T) *T { return &v }

func TestHostFallbackFaults(t *testing.T) {
	for _, tc := range []struct {
		fault string
		ns    specs.LinuxNamespaceType
	}{{"net-host", specs.NetworkNamespace}, {"ipc-host", specs.IPCNamespace}} {
		c := load(t, "t-runc-container")
		apply(t, tc.fault, c)
		if _, ok := nsPath(c, tc.ns); ok {
			t.Errorf("%s: container still has a %s namespace", tc.fault, tc.ns)
		}
	}
}

func TestHostnameFixed(t *testing.T) {
	c := load(t, "t-runc-sandbox")
	apply(t, "hostname-fixed", c)
	if c.Spec.Hostname != "runtime-default" {
		t.Errorf("sandbox hostname %q", c.Spec.Hostname)
	}
}

func TestHostsPrivate(t *testing.T) {
	StateDir = t.TempDir()
	c := load(t, "t-runc-container")
	apply(t, "hosts-private", c)
	for _, m := range c.Spec.Mounts {
		if m.Destination == "/etc/hosts" {
			if !strings.HasPrefix(m.Source, StateDir) {
				t.Errorf("/etc/hosts still from %s", m.Source)
			}
			return
		}
	}
	t.Error("no /etc/hosts mount")
}

func TestHostNSPrivateGivesNamespacesToHostPods(t *testing.T) {
	c := load(t, "t-runc-sandbox")
	c.HostNamespaceInstead(specs.NetworkNamespace) // as for a hostNetwork pod
	apply(t, "host-ns-private", c)
	if p, ok := nsPath(c, specs.NetworkNamespace); !ok || p != "" {
		t.Errorf("hostNetwork sandbox: network namespace %q %t, want a new one", p, ok)
	}
	plain := load(t, "t-runc-container")
	apply(t, "host-ns-private", plain)
	if p, _ := nsPath(plain, specs.NetworkNamespace); p == "" {
		t.Error("host-ns-private changed a pod that asked for no host namespace")
	}
}

func TestPIDPrivateLeavesNoSharedPIDNamespace(t *testing.T) {
	c := load(t, "t-runc-container")
	if err := c.JoinSandboxNamespace(specs.PIDNamespace); err != nil { // as with shareProcessNamespace
		t.Fatal(err)
	}
	apply(t, "pid-private", c)
	if p, _ := nsPath(c, specs.PIDNamespace); p != "" {
		t.Errorf("pid namespace path %q, want a new one", p)
	}
}

func TestHandlerNamesAreUniqueAndLookedUp(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range Handlers() {
		if seen[f.Name] {
			t.Errorf("two handlers named %s", f.Name)
		}
		seen[f.Name] = true
		for _, name := range []string{f.Name, f.Handler()} {
			if got, err := Lookup(name); err != nil || got.Handler() != f.Handler() {
				t.Errorf("Lookup(%q) = %s, %v", name, got.Handler(), err)
			}
		}
	}
	for _, f := range Benign {
		if !f.Benign || !strings.HasPrefix(f.Handler(), "benign-") || len(f.MustFail) > 0 || len(f.MayFail) > 0 {
			t.Errorf("benign handler %s declares failures or is not marked benign", f.Name)
		}
	}
}

func TestUTSSplitNamedKeepsThePodsHostname(t *testing.T) {
	c := load(t, "t-runc-container")
	apply(t, "uts-split-named", c)
	if p, ok := nsPath(c, specs.UTSNamespace); !ok || p != "" {
		t.Errorf("UTS namespace path %q, want a new namespace", p)
	}
	if c.Spec.Hostname != "t-runc" {
		t.Errorf("hostname %q, want the pod's, t-runc", c.Spec.Hostname)
	}
	sandbox := load(t, "t-runc-sandbox")
	apply(t, "uts-split-named", sandbox)
	if p, ok := nsPath(sandbox, specs.UTSNamespace); !ok || p != "" || sandbox.Spec.Hostname != "t-runc" {
		t.Errorf("sandbox changed: UTS %q, hostname %q", p, sandbox.Spec.Hostname)
	}
}

func TestEtcFilesNodeGivesEveryContainerTheNodesFiles(t *testing.T) {
	StateDir, NodeEtcDir = t.TempDir(), t.TempDir()
	defer func() { NodeEtcDir = "/etc" }()
	for name, content := range map[string]string{"hosts": "172.18.0.2\tnode\n", "resolv.conf": "nameserver 172.18.0.1\n"} {
		if err := os.WriteFile(filepath.Join(NodeEtcDir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sources := map[string][]string{}
	for _, name := range []string{"a", "b"} {
		c := load(t, "t-runc-container")
		c.Spec.Annotations[annotationName] = name
		apply(t, "etc-files-node", c)
		for _, m := range c.Spec.Mounts {
			if m.Destination == "/etc/hosts" || m.Destination == "/etc/resolv.conf" {
				sources[m.Destination] = append(sources[m.Destination], m.Source)
			}
		}
	}
	for dest, srcs := range sources {
		if len(srcs) != 2 || srcs[0] != srcs[1] || !strings.HasPrefix(srcs[0], StateDir) {
			t.Errorf("%s from %v, want one copy of the node's for the pod", dest, srcs)
			continue
		}
		got, _ := os.ReadFile(srcs[0])
		want, _ := os.ReadFile(filepath.Join(NodeEtcDir, filepath.Base(dest)))
		if string(got) != string(want) {
			t.Errorf("%s is %q, want the node's %q", dest, got, want)
		}
	}
	if len(sources) != 2 {
		t.Errorf("edited %v, want /etc/hosts and /etc/resolv.conf", sources)
	}
}

func TestUsernsRootIdentityMapsRootToRoot(t *testing.T) {
	for _, name := range []string{"t-userns-sandbox", "t-userns-container"} {
		c := load(t, name)
		before, _ := nsPath(c, specs.UserNamespace)
		apply(t, "userns-root-identity", c)
		// containerd gave the pod 0 1999044608 65536: root is now the node's
		// root, and the node ID root had is still mapped, past the range.
		want := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 0, Size: 1},
			{ContainerID: 1, HostID: 1999044609, Size: 65535}, {ContainerID: 65536, HostID: 1999044608, Size: 1}}
		for _, ms := range [][]specs.LinuxIDMapping{c.Spec.Linux.UIDMappings, c.Spec.Linux.GIDMappings} {
			if !slices.Equal(ms, want) {
				t.Errorf("%s: mapping %+v, want %+v", name, ms, want)
			}
		}
		p, ok := nsPath(c, specs.UserNamespace)
		switch {
		case !ok:
			t.Errorf("%s: no user namespace left", name)
		case c.IsSandbox() && p != "":
			t.Errorf("sandbox joins %s, want a user namespace of its own", p)
		case !c.IsSandbox() && p != before:
			t.Errorf("container joins %s, want the sandbox's %s", p, before)
		}
		for _, m := range c.Spec.Mounts {
			if len(m.UIDMappings) != 0 || slices.Contains(m.Options, "idmap") {
				t.Errorf("%s: mount %s is still ID-mapped", name, m.Destination)
			}
			if m.Destination == "/sys" && (m.Type != "bind" || m.Source != "/sys") {
				t.Errorf("%s: /sys is %+v, want a bind of the node's", name, m)
			}
		}
	}
	plain := load(t, "t-runc-container")
	apply(t, "userns-root-identity", plain)
	if _, ok := nsPath(plain, specs.UserNamespace); ok || plain.Spec.Linux.UIDMappings != nil {
		t.Error("userns-root-identity gave a user namespace to a pod without hostUsers: false")
	}
}

func TestBenignCgroupnsGivesEveryContainerItsOwn(t *testing.T) {
	for _, name := range []string{"t-runc-sandbox", "t-runc-container", "t-userns-container"} {
		c := load(t, name)
		if _, ok := nsPath(c, specs.CgroupNamespace); ok {
			t.Fatalf("testdata %s already has a cgroup namespace", name)
		}
		apply(t, "benign-cgroupns", c)
		if p, ok := nsPath(c, specs.CgroupNamespace); !ok || p != "" {
			t.Errorf("%s: cgroup namespace %q %t, want a new one", name, p, ok)
		}
	}
}

func TestBenignCapsIsCRIOsDefault(t *testing.T) {
	crio := []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_SETGID", "CAP_SETUID",
		"CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_KILL"}
	c := load(t, "t-runc-container")
	apply(t, "benign-caps", c)
	got := c.Spec.Process.Capabilities
	for _, set := range [][]string{got.Bounding, got.Effective, got.Permitted} {
		if !sameSet(set, crio) {
			t.Errorf("capabilities %v, want CRI-O's %v", set, crio)
		}
	}

	// A capability the pod adds stays; a privileged container keeps all.
	added := load(t, "t-runc-container")
	added.Spec.Process.Capabilities.Bounding = append(added.Spec.Process.Capabilities.Bounding, "CAP_SYS_ADMIN")
	apply(t, "benign-caps", added)
	if !slices.Contains(added.Spec.Process.Capabilities.Bounding, "CAP_SYS_ADMIN") {
		t.Error("benign-caps dropped a capability the pod added")
	}
	privileged := load(t, "t-runc-container")
	privileged.Spec.Process.Capabilities.Bounding = append(privileged.Spec.Process.Capabilities.Bounding, privilegedCapabilities...)
	apply(t, "benign-caps", privileged)
	if !slices.Contains(privileged.Spec.Process.Capabilities.Bounding, "CAP_NET_RAW") {
		t.Error("benign-caps reduced a privileged container's capabilities")
	}
}

func TestBenignCapsLimitsExecToTheContainers(t *testing.T) {
	c := load(t, "t-runc-container")
	f, _ := Lookup("benign-caps")
	if err := f.Apply(c); err != nil {
		t.Fatal(err)
	}
	// What containerd passes runc exec: the container's process as it asked for it.
	process := *load(t, "t-runc-container").Spec.Process
	if err := f.ApplyExec(&process, c.Spec); err != nil {
		t.Fatal(err)
	}
	if !sameSet(process.Capabilities.Bounding, c.Spec.Process.Capabilities.Bounding) ||
		!sameSet(process.Capabilities.Effective, c.Spec.Process.Capabilities.Effective) {
		t.Errorf("exec'd process capabilities %v, want the container's %v", process.Capabilities.Bounding, c.Spec.Process.Capabilities.Bounding)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestTermDroppedSwallowsOnlyAnAppContainersSIGTERM(t *testing.T) {
	f, err := Lookup("term-dropped")
	if err != nil {
		t.Fatal(err)
	}
	app, sandbox := load(t, "t-runc-container").Spec, load(t, "t-runc-sandbox").Spec
	for _, tc := range []struct {
		spec   *specs.Spec
		signal string
		drop   bool
	}{
		{app, "15", true}, {app, "SIGTERM", true}, {app, "TERM", true}, {app, "", true},
		{app, "9", false}, {app, "KILL", false}, {app, "SIGKILL", false},
		{sandbox, "15", false}, {sandbox, "9", false},
	} {
		if got := f.DropKill(tc.spec, tc.signal); got != tc.drop {
			t.Errorf("DropKill(%s container, %q) = %t, want %t", (&Container{Spec: tc.spec}).annotation(annotationType), tc.signal, got, tc.drop)
		}
	}
}

func TestSandboxRebuiltSplitOnlyTouchesARebuiltSandbox(t *testing.T) {
	StateDir = t.TempDir()
	first := load(t, "t-runc-sandbox")
	apply(t, "sandbox-rebuilt-split", first)
	c := load(t, "t-runc-container")
	apply(t, "sandbox-rebuilt-split", c)
	if p, _ := nsPath(c, specs.NetworkNamespace); p == "" {
		t.Fatalf("a container of the pod's first sandbox got a network namespace of its own")
	}

	// The kubelet's second sandbox for the same pod UID: its containers are split.
	second := load(t, "t-runc-sandbox")
	second.Spec.Annotations[annotationSandboxID] = "rebuilt"
	before, _ := json.Marshal(second.Spec)
	apply(t, "sandbox-rebuilt-split", second)
	if after, _ := json.Marshal(second.Spec); string(after) != string(before) {
		t.Errorf("the rebuilt sandbox itself was changed")
	}
	c = load(t, "t-runc-container")
	c.Spec.Annotations[annotationSandboxID] = "rebuilt"
	apply(t, "sandbox-rebuilt-split", c)
	if p, ok := nsPath(c, specs.NetworkNamespace); !ok || p != "" {
		t.Errorf("a container of the rebuilt sandbox joins %q, want a network namespace of its own", p)
	}

	// Another pod's first sandbox is not a rebuild.
	other := load(t, "t-runc-container")
	other.Spec.Annotations[annotationSandboxUID] = "another-pod"
	other.Spec.Annotations[annotationSandboxID] = "rebuilt"
	apply(t, "sandbox-rebuilt-split", other)
	if p, _ := nsPath(other, specs.NetworkNamespace); p == "" {
		t.Errorf("a container of a pod with no recorded sandbox was split")
	}
}

func TestSysctlsDroppedKeepsOnlyTheRuntimesDefaults(t *testing.T) {
	c := load(t, "t-runc-sandbox")
	defaults := maps.Clone(c.Spec.Linux.Sysctl)
	c.Spec.Linux.Sysctl["net.ipv4.ip_local_port_range"] = "45000 45101"
	c.Spec.Linux.Sysctl["kernel.shm_rmid_forced"] = "1"
	apply(t, "sysctls-dropped", c)
	if !maps.Equal(c.Spec.Linux.Sysctl, defaults) || len(defaults) != 2 {
		t.Errorf("sandbox sysctls %v, want containerd's own %v", c.Spec.Linux.Sysctl, defaults)
	}
	app := load(t, "t-runc-container")
	app.Spec.Linux.Sysctl = map[string]string{"kernel.shm_rmid_forced": "1"}
	apply(t, "sysctls-dropped", app)
	if len(app.Spec.Linux.Sysctl) != 0 {
		t.Errorf("container sysctls %v kept", app.Spec.Linux.Sysctl)
	}
}

func TestUIDSharedRunsEveryNonRootContainerAsTheFirst(t *testing.T) {
	StateDir = t.TempDir()
	container := func(name string, uid, gid uint32) *Container {
		c := load(t, "t-runc-container")
		c.Spec.Annotations[annotationName] = name
		c.Spec.Process.User.UID, c.Spec.Process.User.GID = uid, gid
		apply(t, "uid-shared", c)
		return c
	}
	root := container("root", 0, 0)
	a := container("a", 1000, 1000)
	b := container("b", 2000, 3000)
	again := container("a", 1000, 1000) // a restart of a
	for name, c := range map[string]*Container{"a": a, "b": b, "restarted a": again} {
		if u := c.Spec.Process.User; u.UID != 1000 || u.GID != 1000 {
			t.Errorf("%s runs as %d:%d, want the first non-root container's 1000:1000", name, u.UID, u.GID)
		}
	}
	if u := root.Spec.Process.User; u.UID != 0 || u.GID != 0 {
		t.Errorf("a root container runs as %d:%d", u.UID, u.GID)
	}
	other := load(t, "t-runc-container")
	other.Spec.Annotations[annotationSandboxID] = "another-pod"
	other.Spec.Process.User.UID, other.Spec.Process.User.GID = 2000, 2000
	apply(t, "uid-shared", other)
	if u := other.Spec.Process.User; u.UID != 2000 {
		t.Errorf("another pod's container runs as %d:%d, want its own 2000", u.UID, u.GID)
	}

	// An exec'd process comes with containerd's user for b; it gets b's as created.
	f, _ := Lookup("uid-shared")
	process := specs.Process{User: specs.User{UID: 2000, GID: 3000}}
	if err := f.ApplyExec(&process, b.Spec); err != nil {
		t.Fatal(err)
	}
	if process.User.UID != 1000 || process.User.GID != 1000 {
		t.Errorf("exec'd process runs as %d:%d, want b's 1000:1000", process.User.UID, process.User.GID)
	}
}
