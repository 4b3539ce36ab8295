package faults

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The annotations containerd's CRI plugin puts on every container it creates.
const (
	annotationType         = "io.kubernetes.cri.container-type"
	annotationName         = "io.kubernetes.cri.container-name"
	annotationSandboxID    = "io.kubernetes.cri.sandbox-id"
	annotationSandboxUID   = "io.kubernetes.cri.sandbox-uid"
	annotationPodName      = "io.kubernetes.cri.sandbox-name"
	annotationPodNamespace = "io.kubernetes.cri.sandbox-namespace"
	typeSandbox            = "sandbox"
)

// StateDir keeps what a fault must remember across container creations (the
// pod's shared rootfs, private copies of volumes).
var StateDir = "/run/podsem-fault"

// Container is a container about to be created: its OCI spec and bundle.
type Container struct {
	Spec   *specs.Spec
	Bundle string
	// Self is the path of the fault binary, for mounting it into containers.
	Self string
	// PodInitContainers lists the init container names of a pod; the node's
	// implementation asks the API server.
	PodInitContainers func(namespace, name string) ([]string, error)
}

// IsSandbox reports whether this is the pod's sandbox (pause) container.
func (c *Container) IsSandbox() bool { return c.annotation(annotationType) == typeSandbox }

// Name is the container's name in the pod.
func (c *Container) Name() string { return c.annotation(annotationName) }

func (c *Container) annotation(k string) string {
	if c.Spec.Annotations == nil {
		return ""
	}
	return c.Spec.Annotations[k]
}

func (c *Container) namespace(t specs.LinuxNamespaceType) (*specs.LinuxNamespace, bool) {
	if c.Spec.Linux == nil {
		return nil, false
	}
	for i := range c.Spec.Linux.Namespaces {
		if c.Spec.Linux.Namespaces[i].Type == t {
			return &c.Spec.Linux.Namespaces[i], true
		}
	}
	return nil, false
}

// JoinsNamespace reports whether the container joins the pod's namespace of type
// t: an existing one (the sandbox's) that is not the node's. containerd gives a
// hostNetwork/hostIPC/hostPID pod's containers a path too, to the node's own.
func (c *Container) JoinsNamespace(t specs.LinuxNamespaceType) bool {
	ns, ok := c.namespace(t)
	if !ok || ns.Path == "" {
		return false
	}
	return !sameNamespace(ns.Path, filepath.Join(HostNamespaceDir, nsFile(t)))
}

// HostNamespaceDir holds the node's own namespaces: the fault runs in them.
var HostNamespaceDir = "/proc/self/ns"

// sameNamespace reports whether two namespace files name the same namespace.
func sameNamespace(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

// HostNamespace reports whether the container stays in the host's namespace of type t.
func (c *Container) HostNamespace(t specs.LinuxNamespaceType) bool {
	_, ok := c.namespace(t)
	return !ok
}

// NewNamespace gives the container a namespace of type t of its own.
func (c *Container) NewNamespace(t specs.LinuxNamespaceType) {
	if ns, ok := c.namespace(t); ok {
		ns.Path = ""
		return
	}
	c.Spec.Linux.Namespaces = append(c.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: t})
}

// HostNamespaceInstead drops the container's namespace of type t, leaving it in
// the node's.
func (c *Container) HostNamespaceInstead(t specs.LinuxNamespaceType) {
	kept := c.Spec.Linux.Namespaces[:0]
	for _, ns := range c.Spec.Linux.Namespaces {
		if ns.Type != t {
			kept = append(kept, ns)
		}
	}
	c.Spec.Linux.Namespaces = kept
}

// PrivateEtcHosts mounts a file of the fault's own over /etc/hosts, as a runtime
// that writes its own hosts file per container would.
func (c *Container) PrivateEtcHosts() error {
	for i := range c.Spec.Mounts {
		m := &c.Spec.Mounts[i]
		if m.Destination != "/etc/hosts" {
			continue
		}
		dir := filepath.Join(StateDir, "hosts", c.annotation(annotationSandboxID), c.Name())
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		file := filepath.Join(dir, "hosts")
		content := "127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.1.1\t" + c.Name() + "\n"
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			return err
		}
		m.Source = file
	}
	return nil
}

// HostUsers puts the container in the node's user namespace, as a runtime that
// applies hostUsers: false to the sandbox only would: no user namespace, no
// mappings, no ID-mapped mounts.
func (c *Container) HostUsers() {
	c.HostNamespaceInstead(specs.UserNamespace)
	c.Spec.Linux.UIDMappings, c.Spec.Linux.GIDMappings = nil, nil
	c.dropIDMappedMounts()
}

// sandboxPIDPattern finds the sandbox's PID in the /proc/PID/ns/... paths
// containerd gives app containers for the namespaces they join.
var sandboxPIDPattern = regexp.MustCompile(`^/proc/(\d+)/ns/`)

// JoinSandboxNamespace puts the container into the sandbox's namespace of type t.
func (c *Container) JoinSandboxNamespace(t specs.LinuxNamespaceType) error {
	for _, other := range []specs.LinuxNamespaceType{specs.IPCNamespace, specs.UTSNamespace} {
		ns, ok := c.namespace(other)
		if !ok {
			continue
		}
		if m := sandboxPIDPattern.FindStringSubmatch(ns.Path); m != nil {
			path := fmt.Sprintf("/proc/%s/ns/%s", m[1], nsFile(t))
			if existing, ok := c.namespace(t); ok {
				existing.Path = path
			} else {
				c.Spec.Linux.Namespaces = append(c.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: t, Path: path})
			}
			return nil
		}
	}
	return fmt.Errorf("cannot find the sandbox's PID in the container's namespace paths")
}

func nsFile(t specs.LinuxNamespaceType) string {
	switch t {
	case specs.NetworkNamespace:
		return "net"
	case specs.MountNamespace:
		return "mnt"
	}
	return string(t)
}

// LoopbackUp brings up lo in a new network namespace, as a runtime that meant to
// give the container networking would; without it nothing listens even locally.
func (c *Container) LoopbackUp() {
	if c.Spec.Hooks == nil {
		c.Spec.Hooks = &specs.Hooks{}
	}
	c.Spec.Hooks.CreateRuntime = append(c.Spec.Hooks.CreateRuntime, specs.Hook{
		Path: c.Self,
		Args: []string{"podsem-fault", "loopback-up"},
	})
}

// PrivateTmpfs replaces the mount at dest with a fresh tmpfs.
func (c *Container) PrivateTmpfs(dest string) {
	for i := range c.Spec.Mounts {
		if c.Spec.Mounts[i].Destination == dest {
			c.Spec.Mounts[i] = specs.Mount{
				Destination: dest, Type: "tmpfs", Source: "shm",
				Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"},
			}
		}
	}
}

// DropLimits removes the container's own memory and CPU limits.
func (c *Container) DropLimits() {
	if c.Spec.Linux == nil || c.Spec.Linux.Resources == nil {
		return
	}
	r := c.Spec.Linux.Resources
	if r.Memory != nil {
		r.Memory.Limit = nil
		r.Memory.Swap = nil
	}
	if r.CPU != nil {
		r.CPU.Quota = nil
		r.CPU.Period = nil
		r.CPU.Shares = nil
	}
	if r.Unified != nil {
		delete(r.Unified, "memory.max")
		delete(r.Unified, "cpu.max")
		delete(r.Unified, "cpu.weight")
	}
}

// RunAsNoReapInit makes the sandbox's process the fault binary acting as an init
// that never waits for children, mounted over /pause so it looks the same.
func (c *Container) RunAsNoReapInit() {
	if c.Spec.Process == nil || len(c.Spec.Process.Args) == 0 {
		return
	}
	target := c.Spec.Process.Args[0]
	c.Spec.Mounts = append(c.Spec.Mounts, specs.Mount{
		Destination: target, Type: "bind", Source: c.Self, Options: []string{"rbind", "ro"},
	})
	c.Spec.Process.Env = append(c.Spec.Process.Env, RoleEnv+"="+RoleNoReap)
}

// RoleEnv selects what the fault binary does when it is not a runtime wrapper.
const (
	RoleEnv    = "PODSEM_FAULT_ROLE"
	RoleNoReap = "no-reap-init"
)

// ShareRootfsWithinPod makes every container of the pod after the first use the
// first one's root filesystem.
func (c *Container) ShareRootfsWithinPod() error {
	sandbox := c.annotation(annotationSandboxID)
	if sandbox == "" || c.Spec.Root == nil {
		return nil
	}
	own := c.Spec.Root.Path
	if !filepath.IsAbs(own) {
		own = filepath.Join(c.Bundle, own)
	}
	record := filepath.Join(StateDir, "rootfs", sandbox)
	if err := os.MkdirAll(filepath.Dir(record), 0o700); err != nil {
		return err
	}
	first, err := os.ReadFile(record)
	if err == nil {
		if _, statErr := os.Stat(string(first)); statErr == nil {
			c.Spec.Root.Path = string(first)
			return nil
		}
	}
	return os.WriteFile(record, []byte(own), 0o600)
}

// InRebuiltSandbox reports whether an app container belongs to a sandbox that
// is not its pod's first one: the kubelet built a new sandbox after losing the
// first. Called for the sandbox, it records the pod's first sandbox by pod UID
// (the kubelet creates a pod's sandboxes one at a time) and reports false.
func (c *Container) InRebuiltSandbox() (bool, error) {
	uid, sandbox := c.annotation(annotationSandboxUID), c.annotation(annotationSandboxID)
	if uid == "" || sandbox == "" {
		return false, nil
	}
	record := filepath.Join(StateDir, "first-sandbox", uid)
	if c.IsSandbox() {
		_, err := recordFirst(record, []byte(sandbox))
		return false, err
	}
	first, err := os.ReadFile(record)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil && string(first) != sandbox, err
}

// recordFirst writes value to record unless a record is there already, and
// returns the record's value: the first writer's. Written aside and linked
// into place, so of two writers at once one is first, and no reader sees
// half a record.
func recordFirst(record string, value []byte) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(record), 0o700); err != nil {
		return nil, err
	}
	tmp := fmt.Sprintf("%s.%d", record, os.Getpid())
	if err := os.WriteFile(tmp, value, 0o600); err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, record); err == nil {
		return value, nil
	} else if !os.IsExist(err) {
		return nil, err
	}
	return os.ReadFile(record)
}

// CopyEmptyDirs gives the container a private copy of each emptyDir volume.
func (c *Container) CopyEmptyDirs() error {
	for i := range c.Spec.Mounts {
		m := &c.Spec.Mounts[i]
		if !strings.Contains(m.Source, "/volumes/kubernetes.io~empty-dir/") {
			continue
		}
		dst := filepath.Join(StateDir, "copies", c.annotation(annotationSandboxID), c.Name(), filepath.Base(m.Source))
		if err := os.RemoveAll(dst); err != nil {
			return err
		}
		if err := copyTree(m.Source, dst); err != nil {
			return fmt.Errorf("copying %s: %w", m.Source, err)
		}
		m.Source = dst
	}
	return nil
}

// IsInitContainer asks the pod's spec whether this container is an init container.
func (c *Container) IsInitContainer() (bool, error) {
	if c.PodInitContainers == nil {
		return false, fmt.Errorf("no way to read the pod's init containers")
	}
	names, err := c.PodInitContainers(c.annotation(annotationPodNamespace), c.annotation(annotationPodName))
	if err != nil {
		return false, err
	}
	for _, n := range names {
		if n == c.Name() {
			return true, nil
		}
	}
	return false, nil
}

// KubectlInitContainers reads a pod's init container names with the node's kubectl
// and the kubelet's credentials (the node authorizer lets it read its own pods).
func KubectlInitContainers(namespace, name string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "kubectl", "--kubeconfig=/etc/kubernetes/kubelet.conf",
		"get", "pod", "-n", namespace, name, "-o", "jsonpath={.spec.initContainers[*].name}").Output()
	if err != nil {
		return nil, fmt.Errorf("reading pod %s/%s: %w", namespace, name, err)
	}
	return strings.Fields(string(out)), nil
}

func copyTree(src, dst string) error {
	return filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}

// PodHostname is the hostname the kubelet gave the pod: containerd passes it to
// every container as HOSTNAME; the pod's name when that is missing.
func (c *Container) PodHostname() string {
	if c.Spec.Process != nil {
		for _, e := range c.Spec.Process.Env {
			if v, ok := strings.CutPrefix(e, "HOSTNAME="); ok && v != "" {
				return v
			}
		}
	}
	return c.annotation(annotationPodName)
}

// NodeEtcDir holds the node's own hosts and resolv.conf.
var NodeEtcDir = "/etc"

// NodeEtcFiles mounts copies of the node's /etc/hosts and /etc/resolv.conf over
// the kubelet's, one copy per pod, so every container of the pod sees the same
// files: the node's names and DNS settings, not the pod's.
func (c *Container) NodeEtcFiles() error {
	dir := filepath.Join(StateDir, "etc-files", c.annotation(annotationSandboxID))
	for i := range c.Spec.Mounts {
		m := &c.Spec.Mounts[i]
		if m.Destination != "/etc/hosts" && m.Destination != "/etc/resolv.conf" {
			continue
		}
		file := filepath.Join(dir, filepath.Base(m.Destination))
		if _, err := os.Stat(file); os.IsNotExist(err) {
			raw, err := os.ReadFile(filepath.Join(NodeEtcDir, filepath.Base(m.Destination)))
			if err != nil {
				return fmt.Errorf("reading the node's %s: %w", m.Destination, err)
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(file, raw, 0o644); err != nil {
				return err
			}
		}
		m.Source = file
	}
	return nil
}

// RootOnNodeUserNamespace maps uid and gid 0 of the pod's user namespace to the
// node's 0. The rest of containerd's range stays, and the node ID it gave root
// moves to the first container ID past the range: the image's files, owned by
// that ID through containerd's ID-mapped rootfs, stay mapped, so root can still
// create /proc in the rootfs (without it the sandbox does not start). The sandbox
// creates that namespace instead of joining the one containerd pinned (whose
// mapping cannot change); app containers join the sandbox's, as before. ID-mapped
// mounts are dropped: the node's root owns their files, and now the pod's root too.
// The pod's network namespace still belongs to containerd's user namespace, and
// the kernel lets only that one mount sysfs: /sys becomes a read-only bind of the
// node's, as rootless runtimes do.
func (c *Container) RootOnNodeUserNamespace() {
	if c.IsSandbox() {
		c.NewNamespace(specs.UserNamespace)
	}
	c.Spec.Linux.UIDMappings = rootOnNode(c.Spec.Linux.UIDMappings)
	c.Spec.Linux.GIDMappings = rootOnNode(c.Spec.Linux.GIDMappings)
	c.dropIDMappedMounts()
	for i := range c.Spec.Mounts {
		if m := &c.Spec.Mounts[i]; m.Type == "sysfs" {
			*m = specs.Mount{Destination: m.Destination, Type: "bind", Source: "/sys",
				Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}}
		}
	}
}

// rootOnNode rewrites an ID map so that 0 maps to the node's 0: the range that
// held 0 keeps its other IDs, and its node ID for 0 goes past the map's end.
func rootOnNode(ms []specs.LinuxIDMapping) []specs.LinuxIDMapping {
	var out []specs.LinuxIDMapping
	var end uint32
	moved := []specs.LinuxIDMapping{}
	for _, m := range ms {
		end = max(end, m.ContainerID+m.Size)
		if m.ContainerID != 0 || m.Size == 0 {
			out = append(out, m)
			continue
		}
		out = append(out, specs.LinuxIDMapping{ContainerID: 0, HostID: 0, Size: 1})
		if m.Size > 1 {
			out = append(out, specs.LinuxIDMapping{ContainerID: 1, HostID: m.HostID + 1, Size: m.Size - 1})
		}
		moved = append(moved, specs.LinuxIDMapping{HostID: m.HostID, Size: 1})
	}
	for _, m := range moved {
		m.ContainerID = end
		out = append(out, m)
	}
	if len(out) == 0 {
		out = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 0, Size: 65536}}
	}
	return out
}

// dropIDMappedMounts turns ID-mapped bind mounts into plain ones.
func (c *Container) dropIDMappedMounts() {
	for i := range c.Spec.Mounts {
		m := &c.Spec.Mounts[i]
		m.UIDMappings, m.GIDMappings = nil, nil
		kept := m.Options[:0]
		for _, o := range m.Options {
			if o != "idmap" && o != "ridmap" {
				kept = append(kept, o)
			}
		}
		m.Options = kept
	}
}

// privilegedCapabilities are granted together only to privileged containers (or
// to those that add ALL): CRI-O gives those every capability too.
var privilegedCapabilities = []string{"CAP_SYS_ADMIN", "CAP_SYS_MODULE", "CAP_SYS_BOOT", "CAP_NET_ADMIN", "CAP_SYS_PTRACE"}

// DropDefaultCapabilities removes drop from every set, as a runtime whose default
// set lacks them would: a capability the pod adds beyond the default is not in
// drop and stays. A privileged container keeps everything. A pod that re-adds
// one of drop explicitly loses it: the spec cannot tell it from the default.
func DropDefaultCapabilities(caps *specs.LinuxCapabilities, drop []string) {
	if caps == nil || containsAll(caps.Bounding, privilegedCapabilities) {
		return
	}
	keep := func(c string) bool { return !slices.Contains(drop, c) }
	filterCapabilities(caps, keep)
}

// LimitCapabilities removes from every set what the bounding set allowed lacks:
// an exec'd process gets no capability its container was not given.
func LimitCapabilities(caps *specs.LinuxCapabilities, allowed []string) {
	if caps == nil {
		return
	}
	filterCapabilities(caps, func(c string) bool { return slices.Contains(allowed, c) })
}

func filterCapabilities(caps *specs.LinuxCapabilities, keep func(string) bool) {
	for _, set := range []*[]string{&caps.Bounding, &caps.Effective, &caps.Permitted, &caps.Inheritable, &caps.Ambient} {
		if *set == nil {
			continue
		}
		kept := []string{}
		for _, c := range *set {
			if keep(c) {
				kept = append(kept, c)
			}
		}
		*set = kept
	}
}

func containsAll(set, want []string) bool {
	for _, w := range want {
		if !slices.Contains(set, w) {
			return false
		}
	}
	return true
}

// runtimeSysctls are the sysctls containerd sets in every sandbox of its own
// accord (unprivileged ports and ping), not from the pod.
var runtimeSysctls = []string{"net.ipv4.ip_unprivileged_port_start", "net.ipv4.ping_group_range"}

// DropPodSysctls removes every sysctl but the runtime's own defaults.
// containerd puts the pod's sysctls in the sandbox's spec only (its app
// containers join the namespaces they apply to); any container's are dropped
// alike.
func (c *Container) DropPodSysctls() {
	if c.Spec.Linux == nil {
		return
	}
	for name := range c.Spec.Linux.Sysctl {
		if !slices.Contains(runtimeSysctls, name) {
			delete(c.Spec.Linux.Sysctl, name)
		}
	}
}

// ShareUserWithinPod runs a non-root container as the UID and GID of the
// first non-root container created in its pod, remembered per sandbox: a
// runtime that mixes up its containers' users. Root containers stay root.
func (c *Container) ShareUserWithinPod() error {
	sandbox := c.annotation(annotationSandboxID)
	if sandbox == "" || c.Spec.Process == nil || c.Spec.Process.User.UID == 0 {
		return nil
	}
	u := &c.Spec.Process.User
	record := filepath.Join(StateDir, "users", sandbox)
	first, err := recordFirst(record, fmt.Appendf(nil, "%d:%d", u.UID, u.GID))
	if err != nil {
		return err
	}
	if _, err := fmt.Sscanf(string(first), "%d:%d", &u.UID, &u.GID); err != nil {
		return fmt.Errorf("%s holds %q: %w", record, first, err)
	}
	return nil
}

// imageVolumeDir is where containerd's CRI plugin mounts a pod's image volumes
// (<state dir>/image-volumes/<sandbox>/<image>): a writable snapshot, shared
// by the pod's containers, which each bind it read-only.
const imageVolumeDir = "/io.containerd.grpc.v1.cri/image-volumes/"

// WritableImageVolumes turns the container's read-only binds of image volumes
// into read-write ones: the snapshot under them takes the writes, and every
// container of the pod sees them.
func (c *Container) WritableImageVolumes() {
	for i := range c.Spec.Mounts {
		m := &c.Spec.Mounts[i]
		if !strings.Contains(m.Source, imageVolumeDir) {
			continue
		}
		kept := []string{}
		for _, o := range m.Options {
			if o != "ro" && o != "rro" && o != "rw" {
				kept = append(kept, o)
			}
		}
		m.Options = append(kept, "rw")
	}
}

// CgroupOutsidePod moves the container's cgroup out of the pod's, to a
// sibling of the pod's cgroup under the same parent (the QoS class's): the
// container keeps its own limits, and the pod's no longer bind it. Both
// forms of cgroupsPath: cgroupfs' path (/kubepods/burstable/pod<UID>/<ID>)
// and systemd's slice:prefix:name (kubepods-burstable-pod<UID>.slice:cri-containerd:<ID>).
func (c *Container) CgroupOutsidePod() error {
	if c.Spec.Linux == nil || c.Spec.Linux.CgroupsPath == "" {
		return nil
	}
	p := c.Spec.Linux.CgroupsPath
	if slice, rest, ok := strings.Cut(p, ":"); ok {
		// The parent of slice a-b-c.slice is a-b.slice.
		name := strings.TrimSuffix(slice, ".slice")
		i := strings.LastIndex(name, "-")
		if i <= 0 {
			return fmt.Errorf("cgroupsPath %q: slice %q has no parent slice", p, slice)
		}
		c.Spec.Linux.CgroupsPath = name[:i] + ".slice:" + rest
		return nil
	}
	pod := filepath.Dir(p)
	if pod == "/" || pod == "." {
		return fmt.Errorf("cgroupsPath %q: no pod cgroup above the container's", p)
	}
	c.Spec.Linux.CgroupsPath = filepath.Join(filepath.Dir(pod), filepath.Base(p))
	return nil
}
