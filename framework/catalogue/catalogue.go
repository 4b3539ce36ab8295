// Package catalogue is the list of pod semantics podsem proves, by stable ID. Spec
// texts and labels are derived from it, and the dry run checks that every ID has
// exactly one spec, so the catalogue, the suite and the reports cannot drift apart.
package catalogue

import (
	"fmt"
	"sort"
	"strings"
)

// Level says whether a runtime must honour a semantic.
type Level string

const (
	// Required semantics fail the run when violated.
	Required Level = "Required"
	// Optional semantics are skipped, with the reason, when the runtime or cluster
	// does not offer them; violated when offered, they fail.
	Optional Level = "Optional"
)

// Entry is one semantic. IDs never change meaning once released.
type Entry struct {
	ID       string
	Area     string
	Level    Level
	Semantic string
}

// Text is the spec text: the ID first, then the requirement.
func (e Entry) Text() string { return fmt.Sprintf("[%s] %s", e.ID, e.Semantic) }

// Labels are the Ginkgo labels of the entry's spec.
func (e Entry) Labels() []string { return []string{e.Area, string(e.Level), e.ID} }

// Entries is the catalogue, in catalogue order.
var Entries = []Entry{
	{"NET-01", "network", Required, "a TCP server in one container is reached by another container of the pod on 127.0.0.1, payload both ways"},
	{"NET-02", "network", Required, "a UDP server in one container is reached by another container of the pod on 127.0.0.1, payload both ways"},
	{"NET-03", "network", Required, "every container of the pod has the same interfaces and addresses, and they carry the pod's IPs"},
	{"NET-04", "network", Required, "the containers of a pod share one port space: binding a port another container holds fails with EADDRINUSE"},
	{"NET-05", "network", Required, "another pod does not share the network: its 127.0.0.1 does not reach the server, and its IP differs"},
	// net-private, net-host, uts-private and hostname-fixed fail it.
	{"NET-06", "network", Required, "port-forward enters the pod's network namespace: a server bound only to 127.0.0.1 in one container is reached through the API server's portforward subresource, payload both ways"},
	// fault-sysctls-dropped fails it (also net-private, net-host).
	{"NET-07", "network", Required, "a pod sysctl of the network namespace (net.ipv4.ip_local_port_range) holds in every container: their ephemeral ports come from it; another pod keeps its own"},
	// fault-net-private fails it (also net-host); skipped where the cluster enforces no NetworkPolicy.
	{"NET-08", "network", Optional, "a NetworkPolicy selecting the pod governs every container alike: allowed ports reachable, others blocked, egress denied for all; localhost between containers unaffected"},

	{"IPC-01", "ipc", Required, "a SysV message queue created by one container is opened by key in another, and messages pass intact both ways"},
	{"IPC-02", "ipc", Required, "a SysV shared-memory segment written by one container is read by another"},
	{"IPC-03", "ipc", Required, "a POSIX message queue created by one container is used by another"},
	{"IPC-04", "ipc", Required, "a file one container writes in /dev/shm is read by another, on the same tmpfs"},
	{"IPC-05", "ipc", Required, "another pod sees none of the pod's SysV queues, shared-memory segments, POSIX queues or /dev/shm files"},
	// fault-sysctls-dropped fails it (also ipc-private, ipc-host).
	{"IPC-06", "ipc", Required, "a pod sysctl of the IPC namespace (kernel.shm_rmid_forced=1) holds in every container, with its effect seen across them; another pod keeps the default"},

	{"UTS-01", "uts", Required, "every container reports the same hostname, the pod's name, and the same domainname"},
	{"UTS-02", "uts", Required, "spec.hostname and spec.subdomain give the same hostname and FQDN in every container"},
	{"UTS-03", "uts", Required, "setHostnameAsFQDN makes the kernel hostname the FQDN in every container"},
	{"UTS-04", "uts", Required, "another pod has its own hostname"},
	{"UTS-05", "uts", Required, "the containers share one UTS namespace: a hostname set by one container is seen by every other"},
	// fault-hostname-fixed and fault-uts-private fail it.
	{"UTS-06", "uts", Required, "spec.hostnameOverride is the kernel hostname of every container, init containers included"},

	{"FS-01", "filesystem", Required, "root filesystems are isolated: a file one container writes outside volumes is absent in another"},
	{"FS-02", "filesystem", Required, "an emptyDir is shared at any mount path: writes and later updates by one container are seen by another, both ways"},
	{"FS-03", "filesystem", Required, "an emptyDir with medium Memory is one tmpfs, shared the same way"},
	{"FS-04", "filesystem", Required, "a read-only mount of a shared volume rejects writes while the read-write side's writes show through"},
	{"FS-05", "filesystem", Required, "the kubelet-managed /etc/hosts and /etc/resolv.conf are identical in every container"},
	// fault-image-volume-rw fails it.
	{"FS-06", "filesystem", Required, "an image volume (the podprobe image) mounted in two containers shows the same files, read-only in both"},

	{"PID-01", "pid", Required, "by default each container sees only its own processes, its entrypoint is PID 1, and it cannot signal another container's process"},
	{"PID-02", "pid", Optional, "with shareProcessNamespace, every container sees every process of the pod, under the same PIDs, and PID 1 is the sandbox's process"},
	{"PID-03", "pid", Optional, "with shareProcessNamespace, a container can signal another container's process, which receives the signal"},
	{"PID-04", "pid", Optional, "with shareProcessNamespace, a container reads another container's root filesystem through /proc/PID/root"},
	{"PID-05", "pid", Optional, "with shareProcessNamespace, an orphaned process is re-parented to PID 1, the sandbox, which reaps it: no zombie is left"},
	{"PID-06", "pid", Optional, "an ephemeral container with targetContainerName sees that container's processes, not the others', and its root filesystem through /proc/PID/root"},
	// fault-uid-shared fails it (also pid-private).
	{"PID-07", "pid", Optional, "with shareProcessNamespace, a container of another non-root UID sees the other's process but cannot read its /proc/PID/environ or /proc/PID/root (EACCES); one of the same UID can"},

	{"SBX-01", "sandbox", Required, "the pod's IP and network namespace survive a restart of an app container: the restarted container serves on the same addresses"},
	{"SBX-02", "sandbox", Required, "IPC objects (a SysV message queue, a /dev/shm file) outlive a restart of the container that created them, for it and for the others"},
	{"SBX-03", "sandbox", Required, "init containers run in the pod's network, IPC and UTS namespaces: what they leave there is found by the app containers"},
	{"SBX-04", "sandbox", Required, "a native sidecar (an init container with restartPolicy Always) shares the pod's network, IPC and UTS namespaces with the app containers"},
	// fault-sandbox-rebuilt-split fails it (also net-private, net-host, ipc-private, volume-copy).
	{"SBX-05", "sandbox", Required, "when the sandbox dies, the kubelet builds a new one and restarts every container in it: one new network namespace for all, status.podIP(s) updated, IPC objects gone, emptyDir contents kept, same pod UID"},
	// No fault of its own: net-private, net-host, ipc-private and volume-copy fail it as declared collateral.
	{"SBX-06", "sandbox", Required, "when every app container exits at once (restartPolicy Always), the sandbox holds: same IP and network namespace, IPC objects and emptyDir intact after the restarts"},
	// net-private, net-host and volume-copy fail it.
	{"SBX-07", "sandbox", Optional, "a restart rule with action RestartAllContainers restarts every container in the same sandbox: same IP and network namespace, emptyDir kept"},
	// fault-term-dropped fails it.
	{"SBX-08", "sandbox", Required, "on deletion, each container's preStop runs before its PID 1 gets SIGTERM, every container stops within the grace period, native sidecars get SIGTERM only after every app container has exited"},

	{"CG-01", "cgroup", Required, "resources are per container: one exceeding its memory limit is OOM-killed while another keeps running, unrestarted"},
	{"CG-02", "cgroup", Required, "each container's own cgroup carries that container's CPU and memory limits"},
	// fault-cgroup-outside-pod and fault-cgroup-shared fail it.
	{"CG-03", "cgroup", Optional, "with pod-level resources (spec.resources) the pod's cgroup carries the pod's limits: containers without limits of their own cannot together exceed them; one with its own smaller limit is held to that"},

	{"HOST-01", "host", Optional, "hostNetwork puts every container of the pod in the node's network namespace: the node's addresses, reachable at the node's IP"},
	{"HOST-02", "host", Optional, "hostIPC puts every container of the pod in the node's IPC namespace: SysV objects are shared with other hostIPC pods, not with ordinary pods"},
	{"HOST-03", "host", Optional, "hostPID puts every container of the pod in the node's PID namespace: they see the node's processes and each other's"},

	{"USER-01", "userns", Optional, "with hostUsers: false all containers share one user namespace with one uid/gid mapping, not the identity mapping"},
}

// Lookup returns the entry of id; it panics on an unknown ID, a programming error.
func Lookup(id string) Entry {
	e, ok := Find(id)
	if !ok {
		panic(fmt.Sprintf("catalogue: unknown ID %q", id))
	}
	return e
}

// Find returns the entry of id, for IDs that come from users.
func Find(id string) (Entry, bool) {
	for _, e := range Entries {
		if e.ID == id {
			return e, true
		}
	}
	return Entry{}, false
}

// Spec is what the catalogue check needs of a spec in a (dry-run) report.
type Spec struct {
	Text   string
	Labels []string
}

// Check verifies that every catalogue ID has exactly one spec, whose text starts
// with the entry's text and which carries the entry's labels, and that no spec
// claims an ID outside the catalogue. It returns every problem found.
func Check(specs []Spec) []string {
	var problems []string
	seen := map[string]int{}
	for _, s := range specs {
		id, ok := idOf(s.Text)
		if !ok {
			problems = append(problems, fmt.Sprintf("spec %q carries no catalogue ID", s.Text))
			continue
		}
		var entry *Entry
		for i := range Entries {
			if Entries[i].ID == id {
				entry = &Entries[i]
			}
		}
		if entry == nil {
			problems = append(problems, fmt.Sprintf("spec %q names %s, which is not in the catalogue", s.Text, id))
			continue
		}
		seen[id]++
		if !strings.HasSuffix(s.Text, entry.Text()) {
			problems = append(problems, fmt.Sprintf("%s: spec text %q does not end with %q", id, s.Text, entry.Text()))
		}
		for _, l := range entry.Labels() {
			if !contains(s.Labels, l) {
				problems = append(problems, fmt.Sprintf("%s: spec lacks label %q (has %v)", id, l, s.Labels))
			}
		}
	}
	for _, e := range Entries {
		switch n := seen[e.ID]; {
		case n == 0:
			problems = append(problems, fmt.Sprintf("%s has no spec", e.ID))
		case n > 1:
			problems = append(problems, fmt.Sprintf("%s has %d specs, want exactly one", e.ID, n))
		}
	}
	sort.Strings(problems)
	return problems
}

// idOf finds the "[ID]" that starts the last text element of a spec.
func idOf(text string) (string, bool) {
	i := strings.LastIndex(text, "[")
	for i >= 0 {
		j := strings.Index(text[i:], "]")
		if j > 0 {
			id := text[i+1 : i+j]
			if strings.Count(id, "-") == 1 && len(id) >= 5 && strings.ToUpper(id) == id {
				return id, true
			}
		}
		i = strings.LastIndex(text[:i], "[")
	}
	return "", false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
