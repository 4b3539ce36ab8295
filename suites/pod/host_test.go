package pod

import (
	"context"
	"math/rand/v2"
	"strconv"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	v1 "k8s.io/api/core/v1"
	admissionapi "k8s.io/pod-security-admission/api"

	"github.com/podsem/podsem/framework/pods"
	"github.com/podsem/podsem/framework/probe"
	"github.com/podsem/podsem/framework/spec"
)

// hostPortBase and hostPortSpan: host-net's server port is picked at random
// from these per run, so parallel or repeated runs do not collide on the node;
// below the kernel's ephemeral ports and Kubernetes' NodePorts.
const (
	hostPortBase = 20000
	hostPortSpan = 10000
)

// The host namespaces need the privileged pod-security level. The three specs
// share a namespace; each compares its host-namespace pods with the ordinary
// pod of their node, the run's neighbour there, which none changes.
var _ = ginkgo.Describe("host", spec.Takes(30), ginkgo.Ordered, ginkgo.ContinueOnFailure, func() {
	f := spec.SharedFramework("host", admissionapi.LevelPrivileged)

	spec.It("HOST-01", func(ctx context.Context) {
		port := strconv.Itoa(hostPortBase + rand.IntN(hostPortSpan))
		onHost := pods.Load("host-net")
		onHost.Spec.Containers[0].Args = []string{"serve", "tcp", port}
		onHost.Spec.Containers[0].StartupProbe.Exec.Command = []string{probe.Binary, "dial", "tcp", "127.0.0.1:" + port, "--timeout", "1s"}
		started, _, skip := pods.StartOptionalOnOneNode(ctx, f, []*v1.Pod{onHost})
		if skip != "" {
			spec.NotOffered(skip)
		}
		pod := started[0]
		ordinary := pods.NeighbourOf(ctx, f, pod)

		// The node's IP, as the node reports it, is an address of both containers.
		hostIP := pod.Status.HostIP
		gomega.Expect(hostIP).NotTo(gomega.BeEmpty(), "the pod's node has an IP")
		inA := probe.Batch(ctx, f, pod, "a", []string{"addrs"}, []string{"ns"})
		inB := probe.Batch(ctx, f, pod, "b", []string{"addrs"}, []string{"ns"})
		inOther := probe.Batch(ctx, f, ordinary, "main", []string{"addrs"}, []string{"ns"},
			[]string{"dial", "tcp", hostIP + ":" + port, "--payload", spec.Token("host01")})
		var a, b, other probe.Addrs
		inA[0].DecodeOK(&a)
		inB[0].DecodeOK(&b)
		gomega.Expect(addressesOf(a)).To(gomega.ContainElement(hostIP), "the node's IP %s is an address of container a", hostIP)
		gomega.Expect(addressedSet(b)).To(gomega.Equal(addressedSet(a)), "container b has container a's (the node's) addressed interfaces")
		// Control: an ordinary pod's network is not the node's.
		inOther[0].DecodeOK(&other)
		gomega.Expect(addressesOf(other)).NotTo(gomega.ContainElement(hostIP), "an ordinary pod does not have the node's IP %s", hostIP)

		// Behaviour: the server in container a listens on the node: another pod
		// reaches it at the node's IP, and it answers from a's network namespace.
		serverNS, otherNS := nsIn(inA[1]), nsIn(inOther[1])
		var d probe.Dial
		r := inOther[2]
		r.Decode(&d)
		gomega.Expect(d.Result).To(gomega.Equal("ok"), "an ordinary pod reaches container a's server at the node's IP %s:%s: %s", hostIP, port, r.Describe())
		gomega.Expect(d.Echo).To(gomega.Equal(d.Sent))
		gomega.Expect(d.Server.NetNS).To(gomega.Equal(serverNS.Namespace("net")), "the answer comes from container a's network namespace")
		gomega.Expect(d.Server.NetNS).NotTo(gomega.Equal(otherNS.Namespace("net")), "which is not the dialling pod's")
		gomega.Expect(nsIn(inB[1]).Namespace("net")).To(gomega.Equal(serverNS.Namespace("net")), "container b is in it too")
	})

	spec.It("HOST-02", func(ctx context.Context) {
		// Both go to one node, the ordinary pod's: the node's IPC namespace is
		// one node's. They start side by side.
		onHost, peer := pods.Load("host-ipc"), pods.Load("host-ipc")
		peer.Name = "host-ipc-peer"
		started, _, skip := pods.StartOptionalOnOneNode(ctx, f, []*v1.Pod{onHost, peer})
		if skip != "" {
			spec.NotOffered(skip)
		}
		pod, other := started[0], started[1]
		ordinary := pods.NeighbourOf(ctx, f, pod)

		key := strconv.FormatInt(spec.IPCKey(), 10)
		first, second := spec.Token("host02-a"), spec.Token("host02-peer")
		// The node's IPC namespace outlives every pod: remove what we made there.
		ginkgo.DeferCleanup(probe.Run, f, pod, "a", "sysv-msg", "remove", key)
		inA := probe.Batch(ctx, f, pod, "a", []string{"sysv-msg", "create", key}, []string{"sysv-msg", "send", key, first}, []string{"ns"})
		inA[0].DecodeOK(&probe.IPC{})
		inA[1].DecodeOK(&probe.IPC{})
		var got probe.IPC
		inB := probe.Batch(ctx, f, pod, "b", []string{"sysv-msg", "recv", key}, []string{"ns"})
		r := inB[0]
		r.Decode(&got)
		gomega.Expect(got.Received).To(gomega.Equal(first), "container b receives what container a queued (key %s): %s", key, r.Describe())

		inPeer := probe.Batch(ctx, f, other, "a", []string{"sysv-msg", "send", key, second}, []string{"ns"})
		r = inPeer[0]
		gomega.Expect(r.OK()).To(gomega.BeTrue(), "another hostIPC pod opens the queue by key %s and sends: %s", key, r.Describe())
		got = probe.IPC{}
		r = probe.Run(ctx, f, pod, "a", "sysv-msg", "recv", key)
		r.Decode(&got)
		gomega.Expect(got.Received).To(gomega.Equal(second), "container a receives what the other hostIPC pod sent: %s", r.Describe())

		// Negative, beside the control above: an ordinary pod does not see it.
		inOrdinary := probe.Batch(ctx, f, ordinary, "main", []string{"sysv-msg", "send", key, "intruder"}, []string{"ns"})
		r = inOrdinary[0]
		gomega.Expect(r.OK()).To(gomega.BeFalse(), "an ordinary pod must not reach the node's queue: %s", r.Describe())
		gomega.Expect(r.Errno).To(gomega.Equal("ENOENT"), r.Describe())

		mine := nsIn(inA[2]).Namespace("ipc")
		gomega.Expect(nsIn(inB[1]).Namespace("ipc")).To(gomega.Equal(mine), "container b is in container a's IPC namespace")
		gomega.Expect(nsIn(inPeer[1]).Namespace("ipc")).To(gomega.Equal(mine), "and so is the other hostIPC pod")
		gomega.Expect(nsIn(inOrdinary[1]).Namespace("ipc")).NotTo(gomega.Equal(mine), "but not the ordinary pod")
	})

	spec.It("HOST-03", func(ctx context.Context) {
		// Each entrypoint carries a name unique to this run, to be told apart
		// among every process of the node. The node's PID namespace is known by
		// what only it shows, not by a process name (k3s and others run the
		// kubelet under other names): the entrypoint of an ordinary pod on the
		// same node, which lives in a PID namespace of its own below the node's.
		marks := map[string]string{"a": "/tmp/" + spec.Token("host03-a") + ".json", "b": "/tmp/" + spec.Token("host03-b") + ".json"}
		onHost := pods.Load("host-pid")
		for i := range onHost.Spec.Containers {
			onHost.Spec.Containers[i].Args = []string{"sleep", "--ns-out", marks[onHost.Spec.Containers[i].Name]}
		}
		started, _, skip := pods.StartOptionalOnOneNode(ctx, f, []*v1.Pod{onHost})
		if skip != "" {
			spec.NotOffered(skip)
		}
		pod := started[0]
		ordinary := pods.NeighbourOf(ctx, f, pod)
		neighbourMark := pods.NeighbourMark()
		// In its own PID namespace, the neighbour's entrypoint is PID 1.
		own := ps(ctx, f, ordinary, "main")
		gomega.Expect(pid1(own).Cmdline).To(gomega.ContainSubstring(neighbourMark), "the ordinary pod's entrypoint is PID 1 of its own PID namespace: %v", own.Processes)

		entrypoints := map[string][]int{}
		for _, c := range []string{"a", "b"} {
			view := ps(ctx, f, pod, c)
			init := pid1(view)
			gomega.Expect(init.Cmdline).NotTo(gomega.HavePrefix(probe.Binary), "PID 1 seen from container %s is the node's init, no container's entrypoint: %+v", c, init)
			neighbour := view.Matching(neighbourMark)
			gomega.Expect(neighbour).To(gomega.HaveLen(1), "container %s sees the entrypoint of another pod on its node, in that pod's PID namespace: only the node's PID namespace holds both", c)
			gomega.Expect(neighbour[0].PID).NotTo(gomega.Equal(1), "and under the node's number for it, not its own namespace's PID 1")
			gomega.Expect(rootOf(view, neighbour[0].PID)).To(gomega.Equal(1), "the other pod's entrypoint descends from the PID 1 container %s sees", c)
			for _, owner := range []string{"a", "b"} {
				found := view.Matching(marks[owner])
				gomega.Expect(found).To(gomega.HaveLen(1), "container %s sees container %s's entrypoint", c, owner)
				gomega.Expect(rootOf(view, found[0].PID)).To(gomega.Equal(1), "container %s's entrypoint descends from the same PID 1", owner)
				entrypoints[owner] = append(entrypoints[owner], found[0].PID)
			}
			entrypoints["neighbour"] = append(entrypoints["neighbour"], neighbour[0].PID)
		}
		for owner, pids := range entrypoints {
			gomega.Expect(pids[1]).To(gomega.Equal(pids[0]), "containers a and b see %s's entrypoint under one PID", owner)
		}

		// Negative, beside the control above: the ordinary pod sees none of it.
		for _, mark := range marks {
			gomega.Expect(own.Matching(mark)).To(gomega.BeEmpty(), "an ordinary pod does not see the hostPID pod's processes")
		}
		mine := nsOf(ctx, f, pod, "a").Namespace("pid")
		gomega.Expect(nsOf(ctx, f, pod, "b").Namespace("pid")).To(gomega.Equal(mine), "containers a and b share one PID namespace")
		gomega.Expect(nsOf(ctx, f, ordinary, "main").Namespace("pid")).NotTo(gomega.Equal(mine), "which is not an ordinary pod's")
	})
})

// addressedSet is interfaceSet without the interfaces that carry no address: on
// a node, the host ends of pod veths come and go as other pods do.
func addressedSet(a probe.Addrs) []string {
	var with probe.Addrs
	for _, i := range a.Interfaces {
		if len(i.Addrs) > 0 {
			with.Interfaces = append(with.Interfaces, i)
		}
	}
	return interfaceSet(with)
}

// rootOf is the pid where pid's chain of parents, as view shows it, ends.
func rootOf(view probe.PS, pid int) int {
	chain := view.Ancestry(pid)
	if len(chain) == 0 {
		return 0
	}
	return chain[len(chain)-1].PID
}
