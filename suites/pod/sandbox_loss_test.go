package pod

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	e2eframework "k8s.io/kubernetes/test/e2e/framework"
	admissionapi "k8s.io/pod-security-admission/api"

	"github.com/podsem/podsem/framework/pods"
	"github.com/podsem/podsem/framework/probe"
	"github.com/podsem/podsem/framework/spec"
	"github.com/podsem/podsem/framework/timing"
)

const (
	// sandboxRebuildTimeout bounds the kubelet's answer to a dead sandbox: it
	// notices at its next relist (about a second), stops the containers (their
	// podprobe entrypoints end on SIGTERM), builds a new sandbox and starts
	// them again, without back-off. Seconds, measured.
	sandboxRebuildTimeout = time.Minute
	// sbx-loss's server port, and its emptyDir as each container mounts it.
	lossPort                 = "8080"
	lossSharedA, lossSharedB = "/shared", "/data/shared"
	// heldPort is where the holder of the old network namespace listens in it.
	heldPort = "7171"
)

var _ = ginkgo.Describe("sandbox: loss of the sandbox", spec.Takes(19), func() {
	// The node helper is privileged and in the node's PID namespace.
	f := spec.Framework("sbx-loss", admissionapi.LevelPrivileged)

	spec.It("SBX-05", func(ctx context.Context) {
		// The helper is created on the pod's node as soon as the pod is
		// scheduled, so that both start side by side.
		pod, helper := startWithNodeHelper(ctx, f, pods.Load("sbx-loss"), "to kill its sandbox")

		// What the sandbox's loss must take: a SysV queue, which b opens by key
		// (so it is the pod's, not only a's). What it must keep: a file in the
		// emptyDir.
		key := strconv.FormatInt(spec.IPCKey(), 10)
		file, content := spec.Token("sbx05"), spec.Token("sbx05-file")
		inA := probe.Batch(ctx, f, pod, "a", []string{"sysv-msg", "create", key}, []string{"file", "write", lossSharedA + "/" + file, content}, []string{"ns"})
		inA[0].DecodeOK(&probe.IPC{})
		inA[1].DecodeOK(&probe.File{})
		inB := probe.Batch(ctx, f, pod, "b", []string{"sysv-msg", "send", key, spec.Token("sbx05-msg")}, []string{"ns"})
		gomega.Expect(inB[0].OK()).To(gomega.BeTrue(), "container b opens the queue container a created (key %s): it is in the pod's IPC namespace: %s", key, inB[0].Describe())
		a, b := nsIn(inA[2]), nsIn(inB[1])
		gomega.Expect(b.Namespace("net")).To(gomega.Equal(a.Namespace("net")), "containers a and b share a network namespace before the sandbox dies")
		oldNetNS := a.Namespace("net")

		// The sandbox process, found by the pod's cgroup, holds the containers'
		// network namespace.
		ids := containerIDs(pod)
		var found probe.Sandbox
		probe.Into(ctx, f, helper, "helper", &found, "sandbox", "find", string(pod.UID), ids)
		gomega.Expect(found.Sandbox.NetNS).To(gomega.Equal(oldNetNS), "the sandbox process found is in the containers' network namespace: %+v", *found.Sandbox)

		// The old network namespace is held alive: its inode number cannot go
		// to the new sandbox's, and a container left in it would reach the
		// holder's server on 127.0.0.1.
		var held probe.Hold
		probe.Into(ctx, f, helper, "helper", &held, "sandbox", "hold", strconv.Itoa(found.Sandbox.PID), heldPort)
		ginkgo.DeferCleanup(probe.Run, f, helper, "helper", "signal", strconv.Itoa(held.HolderPID), "SIGTERM")
		// Control: container b reaches it there.
		d := dialLoopback(ctx, f, pod, "b", heldPort, "sbx05-held")
		gomega.Expect(d.Result).To(gomega.Equal("ok"), "container b reaches the holder of its network namespace on 127.0.0.1:%s: %+v", heldPort, d)
		gomega.Expect(d.Server.PID).To(gomega.Equal(held.HolderPID), "the holder answers")
		gomega.Expect(d.Server.NetNS).To(gomega.Equal(oldNetNS), "from the pod's network namespace")

		before := map[string]v1.ContainerStatus{}
		for _, s := range pod.Status.ContainerStatuses {
			before[s.Name] = s
		}
		var killed probe.Sandbox
		probe.Into(ctx, f, helper, "helper", &killed, "sandbox", "kill", string(pod.UID), ids)
		gomega.Expect(killed.Killed).To(gomega.BeTrue())
		gomega.Expect([]any{killed.Sandbox.PID, killed.Sandbox.StartTime}).To(gomega.Equal([]any{found.Sandbox.PID, found.Sandbox.StartTime}), "the process killed is the sandbox process found")

		rebuilt := awaitEveryContainerRestarted(ctx, f, pod, before)
		gomega.Expect(rebuilt.UID).To(gomega.Equal(pod.UID), "the pod is the same object, with the same UID")

		// One network namespace for all, not the old one: b reaches a's server
		// on 127.0.0.1, answered from b's namespace, and neither reaches the
		// holder, which still listens in the old one.
		dial := func(port, tag string) []string {
			return []string{"dial", "tcp", "127.0.0.1:" + port, "--payload", spec.Token(tag)}
		}
		// What each container now sees, one exec each: its namespaces, a dial
		// to the old namespace's holder (and b's to a's server), its
		// addresses, the queue, the emptyDir file.
		afterA := probe.Batch(ctx, f, rebuilt, "a", []string{"ns"}, dial(heldPort, "sbx05-old"), []string{"addrs"},
			[]string{"sysv-msg", "recv", key}, []string{"file", "read", lossSharedA + "/" + file})
		afterB := probe.Batch(ctx, f, rebuilt, "b", []string{"ns"}, dial(heldPort, "sbx05-old"), []string{"addrs"},
			[]string{"sysv-msg", "recv", key}, []string{"file", "read", lossSharedB + "/" + file}, dial(lossPort, "sbx05"))
		after := map[string][]probe.Result{"a": afterA, "b": afterB}
		a, b = nsIn(afterA[0]), nsIn(afterB[0])
		d = probe.Dial{}
		afterB[5].Decode(&d)
		gomega.Expect(d.Result).To(gomega.Equal("ok"), "container b reaches container a's server on 127.0.0.1:%s in the new sandbox: %+v", lossPort, d)
		gomega.Expect(d.Echo).To(gomega.Equal(d.Sent), "the payload came back intact")
		gomega.Expect(d.Server.NetNS).To(gomega.Equal(b.Namespace("net")), "container a's server answers from container b's network namespace")
		gomega.Expect(a.Namespace("net")).To(gomega.Equal(b.Namespace("net")), "containers a and b are in one network namespace")
		for _, c := range []string{"a", "b"} {
			d = probe.Dial{}
			after[c][1].Decode(&d)
			gomega.Expect(d.Result).To(gomega.Equal("refused"), "container %s must not be in the old sandbox's network namespace, where the holder still answers on 127.0.0.1:%s: %+v", c, heldPort, d)
		}
		gomega.Expect(a.Namespace("net")).NotTo(gomega.Equal(oldNetNS), "the network namespace is a new one (the old one is held, so its inode number is not reused)")

		// status.podIPs are what the containers now have.
		ips := pods.IPs(rebuilt)
		gomega.Expect(ips).NotTo(gomega.BeEmpty(), "the rebuilt pod has IPs in its status")
		var addrsA, addrsB probe.Addrs
		afterA[2].DecodeOK(&addrsA)
		afterB[2].DecodeOK(&addrsB)
		gomega.Expect(interfaceSet(addrsB)).To(gomega.Equal(interfaceSet(addrsA)), "containers a and b have the same interfaces and addresses")
		for _, ip := range ips {
			gomega.Expect(addressesOf(addrsA)).To(gomega.ContainElement(ip), "status.podIPs %v (before: %v) are addresses of the containers", ips, pods.IPs(pod))
		}

		// The IPC namespace went with the old sandbox, and the queue with it.
		for _, c := range []string{"a", "b"} {
			r := after[c][3]
			if r.Errno != "ENOENT" {
				// The queue outlived the sandbox, perhaps in the node's IPC
				// namespace: remove it before failing.
				probe.Run(ctx, f, rebuilt, c, "sysv-msg", "remove", key)
			}
			gomega.Expect(r.Errno).To(gomega.Equal("ENOENT"), "container %s finds no queue of key %s: it went with the old sandbox's IPC namespace: %s", c, key, r.Describe())
		}

		// The emptyDir is the pod's, not the sandbox's.
		gomega.Expect(contentOf(afterA[4])).To(gomega.Equal(content), "container a reads what it wrote in the emptyDir before the sandbox died")
		gomega.Expect(contentOf(afterB[4])).To(gomega.Equal(content), "and so does container b, at its own mount path")

		// Supporting evidence: a new sandbox process holds the new namespace.
		var now probe.Sandbox
		probe.Into(ctx, f, helper, "helper", &now, "sandbox", "find", string(pod.UID), containerIDs(rebuilt))
		gomega.Expect([]any{now.Sandbox.PID, now.Sandbox.StartTime}).NotTo(gomega.Equal([]any{found.Sandbox.PID, found.Sandbox.StartTime}), "the sandbox process is a new one")
		gomega.Expect(now.Sandbox.NetNS).To(gomega.Equal(a.Namespace("net")), "in the containers' new network namespace")
	})
})

// startWithNodeHelper starts pod and the node-helper fixture on its node,
// side by side: the helper is created as soon as pod is scheduled. The
// helper runs under the cluster's default runtime handler: it is the suite's
// tool there, not a subject. A cluster that forbids privileged pods ends the
// spec as skipped, saying so; why says what the spec needs the helper for.
func startWithNodeHelper(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, why string) (*v1.Pod, *v1.Pod) {
	ginkgo.GinkgoHelper()
	defer timing.Start(timing.PodStart, "start "+pod.Name+" and node-helper on its node")()
	created := pods.Create(ctx, f, pod)[0]
	scheduled, err := pods.WaitFor(ctx, f, created.Name, pods.ReadyTimeout, "scheduled to a node", func(p *v1.Pod) (bool, error) { return p.Spec.NodeName != "", nil })
	e2eframework.ExpectNoError(err)
	started := pods.AwaitReady(ctx, f, created, createNodeHelper(ctx, f, why, pods.OnNodeOf(scheduled)))
	return started[0], started[1]
}

// createNodeHelper creates the node-helper fixture, adjusted by mutate,
// without waiting for it; why says what the spec needs it for.
func createNodeHelper(ctx context.Context, f *e2eframework.Framework, why string, mutate ...func(*v1.Pod)) *v1.Pod {
	ginkgo.GinkgoHelper()
	helper := pods.Load("node-helper")
	helper.Spec.RuntimeClassName = nil
	for _, m := range mutate {
		m(helper)
	}
	created, err := f.ClientSet.CoreV1().Pods(f.Namespace.Name).Create(ctx, helper, metav1.CreateOptions{})
	if apierrors.IsForbidden(err) {
		ginkgo.Skip(fmt.Sprintf("the cluster forbids privileged pods, and the spec needs one (privileged, hostPID) on the pod's node %s: %v", why, err))
	}
	e2eframework.ExpectNoError(err, "creating the node helper pod %s", helper.Name)
	return created
}

// containerIDs is every container ID in pod's status, comma-separated, as
// `podprobe sandbox` takes them.
func containerIDs(pod *v1.Pod) string {
	ginkgo.GinkgoHelper()
	var ids []string
	for _, s := range append(append([]v1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
		if s.ContainerID != "" {
			ids = append(ids, s.ContainerID)
		}
	}
	gomega.Expect(ids).NotTo(gomega.BeEmpty(), "pod %s reports its container IDs", pod.Name)
	return strings.Join(ids, ",")
}

// awaitEveryContainerRestarted waits, bounded, until every container in
// before runs again under a new container ID, with a higher restart count,
// and is Ready.
func awaitEveryContainerRestarted(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, before map[string]v1.ContainerStatus) *v1.Pod {
	ginkgo.GinkgoHelper()
	rebuilt, err := pods.WaitFor(ctx, f, pod.Name, sandboxRebuildTimeout, "rebuilt: every container restarted (new container ID, higher restart count) and Ready", func(p *v1.Pod) (bool, error) {
		for name, old := range before {
			s := containerStatus(p, name)
			if s == nil || s.ContainerID == old.ContainerID || s.RestartCount <= old.RestartCount || !s.Ready || s.State.Running == nil {
				return false, nil
			}
		}
		return true, nil
	})
	e2eframework.ExpectNoError(err)
	var lines []string
	for name, old := range before {
		s := containerStatus(rebuilt, name)
		lines = append(lines, fmt.Sprintf("%s: %s (restarts %d) -> %s (restarts %d)", name, old.ContainerID, old.RestartCount, s.ContainerID, s.RestartCount))
	}
	ginkgo.AddReportEntry("after the sandbox's loss", pods.Summary(rebuilt)+"; "+strings.Join(lines, "; "), ginkgo.ReportEntryVisibilityFailureOrVerbose)
	return rebuilt
}

// dialLoopback dials 127.0.0.1:port over TCP from container and returns what
// podprobe dial saw; a refused or failed dial is an observation.
func dialLoopback(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, container, port, tag string) probe.Dial {
	ginkgo.GinkgoHelper()
	var d probe.Dial
	probe.Run(ctx, f, pod, container, "dial", "tcp", "127.0.0.1:"+port, "--payload", spec.Token(tag)).Decode(&d)
	return d
}
