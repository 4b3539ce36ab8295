// Package faults defines podsem's fault-injecting runtime handlers: each breaks one
// pod semantic the way a buggy runtime or shim would, by editing a container's OCI
// spec before runc runs it. The sandbox (pause) container stays correct unless the
// fault is about it, so the pod starts and runs; only the semantic breaks.
//
// Each fault declares the catalogue IDs it must fail, and the IDs it may also fail
// with the reason; `make e2e-faults` runs the suite under each and checks both.
//
// Benign handlers are the converse: correct runtime configurations that differ
// from the node's default one (a private cgroup namespace, a smaller default
// capability set). Under each, every Required ID must pass, or the suite raised
// a false alarm.
package faults

import (
	"fmt"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Fault is one runtime handler, registered in the kind node's containerd as
// "fault-<Name>" (or "benign-<Name>") with a RuntimeClass of the same name.
type Fault struct {
	Name string
	// Benign handlers break nothing: they must fail no Required ID.
	Benign bool
	// Breaks says what the fault does, as a runtime vendor would read it; for a
	// benign handler, how it differs from the default configuration.
	Breaks string
	// MustFail are the catalogue IDs whose specs must fail under the fault.
	MustFail []string
	// MayFail are further IDs the fault may fail, each with the reason.
	MayFail map[string]string
	// Apply edits the container's spec; it is called for every create.
	Apply func(*Container) error
	// ApplyExec edits the process of a runc exec (its --process file), given the
	// container's spec as Apply left it; nil leaves exec'd processes alone.
	ApplyExec func(process *specs.Process, container *specs.Spec) error
	// DropKill says whether the wrapper swallows a `runc kill` of signal (as
	// runc got it: "15", "TERM", "SIGTERM") for the container of that spec,
	// answering success without passing it on; nil passes every kill on.
	DropKill func(container *specs.Spec, signal string) bool
}

// IsSIGTERM says whether a `runc kill` signal argument names SIGTERM, in any
// of the forms runc takes (runc's own default is SIGTERM too).
func IsSIGTERM(signal string) bool {
	switch strings.ToUpper(signal) {
	case "", "15", "TERM", "SIGTERM":
		return true
	}
	return false
}

// Handler is the containerd runtime handler and RuntimeClass name.
func (f Fault) Handler() string {
	if f.Benign {
		return "benign-" + f.Name
	}
	return "fault-" + f.Name
}

// All lists every fault, by name.
var All = []Fault{
	{
		Name:     "net-private",
		Breaks:   "app containers get a network namespace of their own (loopback up, no pod interface) instead of joining the sandbox's",
		MustFail: []string{"NET-01", "NET-02", "NET-03", "NET-04", "NET-08"},
		MayFail: map[string]string{
			"NET-06":  "port-forward enters the sandbox's network namespace, and container a's server listens in one of its own",
			"SBX-05":  "the containers are in no one network namespace, before or after the sandbox is rebuilt",
			"SBX-06":  "each container start gets a new network namespace of its own, not the sandbox's",
			"SBX-07":  "each container start gets a new network namespace of its own, not the sandbox's",
			"SBX-08":  "the dying pod's containers have no pod network to report to the observer from",
			"NET-05":  "its positive control, the same dial from inside the pod, fails too",
			"HOST-01": "the ordinary pod that dials the node's IP has no network of its own to dial from",
			"SBX-01":  "each container start gets a new network namespace, so it does not survive a restart",
			"SBX-03":  "init containers are containers too: they get their own network namespace",
			"SBX-04":  "a native sidecar gets its own network namespace",
			"NET-07":  "the containers read and dial from network namespaces of their own, with the kernel's default port range, not the pod's sysctl",
		},
		Apply: func(c *Container) error {
			if c.IsSandbox() || !c.JoinsNamespace("network") {
				return nil
			}
			c.NewNamespace("network")
			c.LoopbackUp()
			return nil
		},
	},
	{
		Name:     "ipc-private",
		Breaks:   "app containers get an IPC namespace of their own, with a private /dev/shm",
		MustFail: []string{"IPC-01", "IPC-02", "IPC-03", "IPC-04"},
		MayFail: map[string]string{
			"SBX-05": "its control fails: container b cannot open the queue container a created",
			"SBX-06": "the SysV message lived in the exited container's private IPC namespace",
			"IPC-05": "its positive control, reading the objects from the pod's other container, fails too",
			"SBX-02": "IPC objects live in the restarted container's private namespace and die with it",
			"SBX-03": "init containers get their own IPC namespace",
			"SBX-04": "a native sidecar gets its own IPC namespace",
			"IPC-06": "each container's own IPC namespace has kernel.shm_rmid_forced at 0, not the pod's 1",
		},
		Apply: func(c *Container) error {
			if c.IsSandbox() || !c.JoinsNamespace("ipc") {
				return nil
			}
			c.NewNamespace("ipc")
			c.PrivateTmpfs("/dev/shm")
			return nil
		},
	},
	{
		Name:     "uts-private",
		Breaks:   "app containers get a UTS namespace of their own, with a hostname that is not the pod's",
		MustFail: []string{"UTS-01", "UTS-02", "UTS-03", "UTS-05", "UTS-06"},
		MayFail: map[string]string{
			"NET-06": "the server behind the port-forward reports the fault's hostname, not the pod's",
			"UTS-04": "the other pod's container gets the fault's hostname too, not its pod's name",
			"SBX-03": "init containers get their own UTS namespace and hostname",
			"SBX-04": "a native sidecar gets its own UTS namespace and hostname",
		},
		Apply: func(c *Container) error {
			if c.IsSandbox() || !c.JoinsNamespace("uts") {
				return nil
			}
			c.NewNamespace("uts")
			c.Spec.Hostname = "fault-" + c.Name()
			return nil
		},
	},
	{
		Name:     "rootfs-shared",
		Breaks:   "every app container of a pod runs on the root filesystem of the pod's first container",
		MustFail: []string{"FS-01"},
		Apply: func(c *Container) error {
			if c.IsSandbox() {
				return nil
			}
			return c.ShareRootfsWithinPod()
		},
	},
	{
		Name:     "volume-copy",
		Breaks:   "each container gets a private copy of every emptyDir instead of the shared directory",
		MustFail: []string{"FS-02", "FS-03", "FS-04"},
		MayFail: map[string]string{
			"SBX-05":  "each container writes its own copy of the emptyDir",
			"SBX-06":  "the trigger written in a's copy of the emptyDir never reaches b, and b's file never reaches a",
			"SBX-07":  "the init container's record and b's file are in copies of their own",
			"PID-03":  "the signal record is written to an emptyDir the other container no longer shares",
			"SBX-03":  "init containers leave their evidence in an emptyDir the app container gets a copy of, taken before",
			"SBX-04":  "the sidecar's evidence travels through an emptyDir",
			"USER-01": "file ownership is compared through an emptyDir",
			"UTS-06":  "the init container's hostname reaches the app containers through an emptyDir",
		},
		Apply: func(c *Container) error {
			if c.IsSandbox() {
				return nil
			}
			return c.CopyEmptyDirs()
		},
	},
	{
		Name:     "pid-always-shared",
		Breaks:   "app containers join the sandbox's PID namespace even without shareProcessNamespace",
		MustFail: []string{"PID-01"},
		MayFail: map[string]string{
			"PID-06":  "the ephemeral container sees the sandbox's and every container's processes, not only its target's",
			"HOST-03": "its control, an ordinary pod's entrypoint being PID 1 of its own PID namespace, fails: PID 1 is the sandbox's",
		},
		Apply: func(c *Container) error {
			if c.IsSandbox() || c.JoinsNamespace("pid") || c.HostNamespace("pid") {
				return nil
			}
			return c.JoinSandboxNamespace("pid")
		},
	},
	{
		Name:     "pid-no-reap",
		Breaks:   "the sandbox's PID 1 never reaps the orphans re-parented to it",
		MustFail: []string{"PID-05"},
		Apply: func(c *Container) error {
			if !c.IsSandbox() {
				return nil
			}
			c.RunAsNoReapInit()
			return nil
		},
	},
	{
		Name:     "cgroup-shared",
		Breaks:   "app containers lose their own memory and CPU limits and run under the pod's only",
		MustFail: []string{"CG-01", "CG-02", "CG-03"},
		Apply: func(c *Container) error {
			if c.IsSandbox() {
				return nil
			}
			c.DropLimits()
			return nil
		},
	},
	{
		Name:     "init-private",
		Breaks:   "init containers run in a network namespace of their own, outside the pod's",
		MustFail: []string{"SBX-03"},
		MayFail: map[string]string{
			"SBX-08": "the native sidecar, an init container, has no pod network to report from",
			"SBX-04": "a native sidecar is an init container",
		},
		Apply: func(c *Container) error {
			if c.IsSandbox() || !c.JoinsNamespace("network") {
				return nil
			}
			init, err := c.IsInitContainer()
			if err != nil || !init {
				return err
			}
			c.NewNamespace("network")
			c.LoopbackUp()
			return nil
		},
	},
	{
		Name:     "userns-split",
		Breaks:   "with hostUsers: false, only the sandbox gets the pod's user namespace: app containers run in the node's, unmapped",
		MustFail: []string{"USER-01"},
		Apply: func(c *Container) error {
			if c.IsSandbox() || !c.JoinsNamespace("user") {
				return nil
			}
			c.HostUsers()
			return nil
		},
	},
	{
		Name:     "net-host",
		Breaks:   "app containers fall back to the node's network namespace instead of joining the pod's",
		MustFail: []string{"NET-03", "NET-05"},
		MayFail: map[string]string{
			"NET-06":  "container a's server listens in the node's network namespace, not the sandbox's that port-forward enters",
			"NET-08":  "the servers listen in the node's network namespace, not at the pod IP the client dials",
			"SBX-05":  "the containers are in the node's network namespace, not the sandbox's",
			"SBX-06":  "the containers are in the node's network namespace, which carries no pod IP",
			"SBX-07":  "the containers are in the node's network namespace, which carries no pod IP",
			"SBX-08":  "the observer's server is in the node's network namespace, not at its pod IP",
			"NET-04":  "every pod's containers share the node's port space, so parallel pods collide",
			"SBX-01":  "the container's addresses after a restart are the node's, not the pod IP",
			"SBX-03":  "init containers run in the node's network namespace",
			"SBX-04":  "a native sidecar runs in the node's network namespace",
			"HOST-01": "a reference pod shares the node's network too, so the comparison loses its control",
			"USER-01": "a hostUsers: false pod's containers, put in the node's network namespace, may not mount sysfs from the pod's user namespace: the pod never starts",
			"NET-07":  "the containers read the node's port range and dial from the node's network namespace, not the pod's",
			"IPC-06":  "the sysctls pod's server listens on 8080 in the node's network namespace, where other pods' servers hold it: the pod may never get Ready",
		},
		Apply: func(c *Container) error {
			if c.IsSandbox() || !c.JoinsNamespace("network") {
				return nil
			}
			c.HostNamespaceInstead("network")
			return nil
		},
	},
	{
		Name:     "ipc-host",
		Breaks:   "app containers fall back to the node's IPC namespace instead of joining the pod's",
		MustFail: []string{"IPC-05"},
		MayFail: map[string]string{
			"SBX-05":  "the queue lives in the node's IPC namespace and survives the sandbox",
			"HOST-02": "an ordinary pod shares the node's IPC namespace too, so the negative control fails",
			"USER-01": "a hostUsers: false pod's containers, put in the node's IPC namespace, may not mount /dev/mqueue from the pod's user namespace: the pod never starts",
			"SBX-03":  "init containers run in the node's IPC namespace",
			"SBX-04":  "a native sidecar runs in the node's IPC namespace",
			"IPC-06":  "the containers are in the node's IPC namespace, where kernel.shm_rmid_forced is the node's 0, not the pod's 1",
		},
		Apply: func(c *Container) error {
			if c.IsSandbox() || !c.JoinsNamespace("ipc") {
				return nil
			}
			c.HostNamespaceInstead("ipc")
			return nil
		},
	},
	{
		Name:     "hostname-fixed",
		Breaks:   "every pod sandbox gets the same fixed hostname instead of the pod's",
		MustFail: []string{"UTS-01", "UTS-02", "UTS-03", "UTS-04", "UTS-06"},
		MayFail: map[string]string{
			"NET-06": "the server behind the port-forward reports the fixed hostname, not the pod's",
			"UTS-05": "the spec first checks that the hostname starts as the pod's name",
			"SBX-03": "init containers see the fixed hostname, compared with the pod's",
			"SBX-04": "the sidecar's hostname is compared with the pod's",
		},
		Apply: func(c *Container) error {
			if c.IsSandbox() && c.Spec.Hostname != "" {
				c.Spec.Hostname = "runtime-default"
			}
			return nil
		},
	},
	{
		Name:     "hosts-private",
		Breaks:   "each app container gets an /etc/hosts of the runtime's own instead of the kubelet-managed one",
		MustFail: []string{"FS-05"},
		MayFail: map[string]string{
			"UTS-02": "the pod's FQDN is read from /etc/hosts",
			"UTS-03": "the FQDN is compared with /etc/hosts",
		},
		Apply: func(c *Container) error {
			if c.IsSandbox() {
				return nil
			}
			return c.PrivateEtcHosts()
		},
	},
	{
		Name:     "host-ns-private",
		Breaks:   "pods asking for the node's network, IPC or PID namespace get private ones instead",
		MustFail: []string{"HOST-01", "HOST-02", "HOST-03"},
		Apply: func(c *Container) error {
			for _, t := range []specs.LinuxNamespaceType{specs.NetworkNamespace, specs.IPCNamespace, specs.PIDNamespace} {
				if c.HostNamespace(t) {
					c.NewNamespace(t)
					if t == specs.NetworkNamespace {
						c.LoopbackUp()
					}
				}
			}
			return nil
		},
	},
	{
		Name:     "pid-private",
		Breaks:   "containers get a PID namespace of their own even when the pod shares one (shareProcessNamespace, ephemeral container targets)",
		MustFail: []string{"PID-02", "PID-03", "PID-04", "PID-06"},
		MayFail: map[string]string{
			"PID-05": "the orphan is re-parented to the container's own init, which may reap it",
			"PID-07": "with a PID namespace of its own, no container sees container a's process",
		},
		Apply: func(c *Container) error {
			if c.IsSandbox() || !c.JoinsNamespace("pid") {
				return nil
			}
			c.NewNamespace("pid")
			return nil
		},
	},
	{
		Name:     "term-dropped",
		Breaks:   "the runtime never delivers SIGTERM to an app container when the kubelet stops it: only the final SIGKILL, after the grace period",
		MustFail: []string{"SBX-08"},
		Apply:    func(*Container) error { return nil },
		DropKill: func(container *specs.Spec, signal string) bool {
			c := Container{Spec: container}
			return !c.IsSandbox() && IsSIGTERM(signal)
		},
	},
	{
		Name:     "sandbox-rebuilt-split",
		Breaks:   "when the kubelet rebuilds a pod's lost sandbox, the restarted app containers each get a network namespace of their own instead of joining the new sandbox's",
		MustFail: []string{"SBX-05"},
		Apply: func(c *Container) error {
			rebuilt, err := c.InRebuiltSandbox()
			if err != nil || !rebuilt || !c.JoinsNamespace("network") {
				return err
			}
			c.NewNamespace("network")
			c.LoopbackUp()
			return nil
		},
	},
	{
		Name:     "uts-split-named",
		Breaks:   "app and init containers get a UTS namespace of their own, named like the pod: equal hostnames, but no namespace shared",
		MustFail: []string{"UTS-01", "UTS-05", "SBX-03", "SBX-04"},
		MayFail: map[string]string{
			"UTS-02": "the fault names each container from its HOSTNAME variable, which may differ from the sandbox's hostname (spec.hostname)",
			"UTS-03": "the fault names each container from its HOSTNAME variable, which may differ from the sandbox's FQDN hostname",
		},
		Apply: func(c *Container) error {
			if c.IsSandbox() || !c.JoinsNamespace("uts") {
				return nil
			}
			c.NewNamespace("uts")
			c.Spec.Hostname = c.PodHostname()
			return nil
		},
	},
	{
		Name:     "etc-files-node",
		Breaks:   "app containers get the node's own /etc/hosts and /etc/resolv.conf, one copy per pod, instead of the kubelet's",
		MustFail: []string{"FS-05"},
		MayFail: map[string]string{
			"UTS-02": "the pod's FQDN is read from /etc/hosts, which now names the node",
			"UTS-03": "the FQDN is compared with /etc/hosts, which now names the node",
		},
		Apply: func(c *Container) error {
			if c.IsSandbox() {
				return nil
			}
			return c.NodeEtcFiles()
		},
	},
	{
		Name:     "userns-root-identity",
		Breaks:   "with hostUsers: false, the pod's user namespace maps uid and gid 0 to the node's 0: root in the pod is root on the node",
		MustFail: []string{"USER-01"},
		Apply: func(c *Container) error {
			if c.HostNamespace(specs.UserNamespace) {
				return nil
			}
			c.RootOnNodeUserNamespace()
			return nil
		},
	},
	{
		Name:     "sysctls-dropped",
		Breaks:   "the pod's sysctls (securityContext.sysctls) are not applied to the sandbox's namespaces: only the runtime's own defaults are",
		MustFail: []string{"NET-07", "IPC-06"},
		Apply: func(c *Container) error {
			c.DropPodSysctls()
			return nil
		},
	},
	{
		Name:     "uid-shared",
		Breaks:   "every non-root container of a pod runs as the UID and GID of the first non-root container created in it, exec'd processes too",
		MustFail: []string{"PID-07"},
		Apply: func(c *Container) error {
			if c.IsSandbox() {
				return nil
			}
			return c.ShareUserWithinPod()
		},
		// containerd gives an exec'd process the user it asked for the
		// container, not the one the fault gave it.
		ApplyExec: func(p *specs.Process, container *specs.Spec) error {
			if container.Process != nil {
				p.User.UID, p.User.GID = container.Process.User.UID, container.Process.User.GID
			}
			return nil
		},
	},
	{
		Name:     "image-volume-rw",
		Breaks:   "image volumes are mounted read-write: writes go to the pod's snapshot of the image, seen by every container that mounts it",
		MustFail: []string{"FS-06"},
		Apply: func(c *Container) error {
			if c.IsSandbox() {
				return nil
			}
			c.WritableImageVolumes()
			return nil
		},
	},
	{
		Name:     "cgroup-outside-pod",
		Breaks:   "app containers' cgroups are created beside the pod's cgroup, not in it: each keeps its own limits, the pod's limits bind none of them",
		MustFail: []string{"CG-03"},
		Apply: func(c *Container) error {
			if c.IsSandbox() {
				return nil
			}
			return c.CgroupOutsidePod()
		},
	},
}

// Benign lists the benign handlers, by name: correct configurations the suite
// must not fail.
var Benign = []Fault{
	{
		Name:   "cgroupns",
		Benign: true,
		Breaks: "every container and the sandbox get a private cgroup namespace (containerd's default on cgroup v2, Docker's): /proc/self/cgroup reads /",
		Apply: func(c *Container) error {
			if c.HostNamespace(specs.CgroupNamespace) {
				c.NewNamespace(specs.CgroupNamespace)
			}
			return nil
		},
	},
	{
		Name:   "caps",
		Benign: true,
		Breaks: "CRI-O's default capabilities: containerd's without " + strings.Join(containerdOnlyCapabilities, ", ") + "; capabilities a pod adds are kept; exec'd processes alike",
		Apply: func(c *Container) error {
			if c.Spec.Process == nil {
				return nil
			}
			DropDefaultCapabilities(c.Spec.Process.Capabilities, containerdOnlyCapabilities)
			return nil
		},
		ApplyExec: func(p *specs.Process, container *specs.Spec) error {
			if container.Process == nil || container.Process.Capabilities == nil {
				return nil
			}
			LimitCapabilities(p.Capabilities, container.Process.Capabilities.Bounding)
			return nil
		},
	},
}

// containerdOnlyCapabilities are in containerd's default set but not in CRI-O's.
var containerdOnlyCapabilities = []string{"CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP"}

// Handlers lists every fault, then every benign handler.
func Handlers() []Fault { return append(append([]Fault{}, All...), Benign...) }

// Lookup returns the fault or benign handler with the given name or handler
// name ("net-private", "fault-net-private", "benign-caps").
func Lookup(name string) (Fault, error) {
	for _, f := range Handlers() {
		if f.Name == name || f.Handler() == name {
			return f, nil
		}
	}
	var names []string
	for _, f := range Handlers() {
		names = append(names, f.Handler())
	}
	sort.Strings(names)
	return Fault{}, fmt.Errorf("unknown fault or benign handler %q (have %v)", name, names)
}
