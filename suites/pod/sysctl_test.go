package pod

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	v1 "k8s.io/api/core/v1"
	e2eframework "k8s.io/kubernetes/test/e2e/framework"
	admissionapi "k8s.io/pod-security-admission/api"

	"github.com/podsem/podsem/framework/pods"
	"github.com/podsem/podsem/framework/probe"
	"github.com/podsem/podsem/framework/spec"
)

const (
	// The sysctls fixture's sysctls, and where a container reads them.
	portRangeSysctl = "net.ipv4.ip_local_port_range"
	portRangeFile   = "/proc/sys/net/ipv4/ip_local_port_range"
	shmForcedFile   = "/proc/sys/kernel/shm_rmid_forced"
	// sysctlServerPort is container a's TCP server, outside any range portRange picks.
	sysctlServerPort = "8080"
	// heldFor bounds the life of a segment holder a spec fails to stop.
	heldFor = "1m"
	// exitWait bounds how long a stopped holder may take to exit.
	exitWait = "5s"
)

var _ = ginkgo.Describe("sysctl", spec.Takes(11), ginkgo.Ordered, ginkgo.ContinueOnFailure, func() {
	f := spec.SharedFramework("sysctl", admissionapi.LevelBaseline)
	var pod, other *v1.Pod
	low, high := portRange()

	ginkgo.BeforeAll(func(ctx context.Context) {
		fixture := pods.Load("sysctls")
		setSysctl(fixture, portRangeSysctl, fmt.Sprintf("%d %d", low, high))
		started, neighbour := pods.StartBesideNeighbour(ctx, f, fixture)
		pod, other = started[0], neighbour
	})

	spec.It("NET-07", func(ctx context.Context) {
		want := fmt.Sprintf("%d %d", low, high)
		for _, c := range []string{"a", "b"} {
			in := probe.Batch(ctx, f, pod, c, []string{"file", "read", portRangeFile},
				[]string{"dial", "tcp", "127.0.0.1:" + sysctlServerPort, "--payload", spec.Token("net07-" + c)})
			gomega.Expect(sysctlOf(in[0])).To(gomega.Equal(want),
				"container %s reads the pod's %s, chosen for this run", c, portRangeSysctl)
			// The behaviour: the kernel picks this container's ephemeral port from the pod's range.
			var d probe.Dial
			in[1].DecodeOK(&d)
			gomega.Expect(localPort(d)).To(gomega.And(gomega.BeNumerically(">=", low), gomega.BeNumerically("<=", high)),
				"container %s's connection to a's server gets its local port from the pod's range %s: %+v", c, want, d)
		}
		gomega.Expect(sysctlIn(ctx, f, other, "main", portRangeFile)).NotTo(gomega.Equal(want),
			"another pod keeps its own %s, not pod %s's", portRangeSysctl, pod.Name)
	})

	spec.It("IPC-06", func(ctx context.Context) {
		// Container a reads the pod's sysctl and leaves a segment attached by a
		// background process of its own; b reads both: one IPC namespace.
		key := strconv.FormatInt(spec.IPCKey(), 10)
		payload := spec.Token("ipc06-held")
		inA := probe.Batch(ctx, f, pod, "a", []string{"file", "read", shmForcedFile}, []string{"sysv-shm", "write", key, payload, "--hold", heldFor})
		gomega.Expect(sysctlOf(inA[0])).To(gomega.Equal("1"), "container a reads the pod's kernel.shm_rmid_forced")
		var held probe.IPC
		inA[1].DecodeOK(&held)
		gomega.Expect(sysctlIn(ctx, f, other, "main", shmForcedFile)).To(gomega.Equal("0"),
			"another pod keeps kernel.shm_rmid_forced at its default, 0")

		// Positive control: while a process of container a holds the segment
		// attached, container b reads it.
		inB := probe.Batch(ctx, f, pod, "b", []string{"file", "read", shmForcedFile}, []string{"sysv-shm", "read", key})
		gomega.Expect(sysctlOf(inB[0])).To(gomega.Equal("1"), "container b reads the pod's kernel.shm_rmid_forced")
		var read probe.IPC
		inB[1].DecodeOK(&read)
		gomega.Expect(read.Read).To(gomega.Equal(payload),
			"container b reads segment %s while a process of container a holds it attached", key)

		// The holder exits: the segment, attached by nobody now, is destroyed.
		// Then a's plain write (IPC-02's), whose segment outlives its writer at
		// the default, must leave nothing behind here either.
		left := strconv.FormatInt(spec.IPCKey(), 10)
		inA = probe.Batch(ctx, f, pod, "a",
			[]string{"signal", strconv.Itoa(held.HolderPID), "SIGTERM", "--wait", exitWait},
			[]string{"sysv-shm", "write", left, spec.Token("ipc06-left")})
		var stopped probe.Signal
		inA[0].DecodeOK(&stopped)
		var written probe.IPC
		inA[1].DecodeOK(&written)
		inB = probe.Batch(ctx, f, pod, "b", []string{"sysv-shm", "read", key}, []string{"sysv-shm", "read", left})
		gomega.Expect(inB[0].Errno).To(gomega.Equal("ENOENT"),
			"once container a's process that held segment %s has exited, kernel.shm_rmid_forced=1 has removed it for container b too: %s", key, inB[0].Describe())
		gomega.Expect(inB[1].Errno).To(gomega.Equal("ENOENT"),
			"the segment container a's sysv-shm write left detached is gone for container b: %s", inB[1].Describe())
	})
})

// portRange is a narrow ephemeral port range for this run: an even start and
// an odd end, as the kernel prefers, so connect() takes even ports first.
func portRange() (low, high int) {
	low = 40000 + 2*rand.IntN(9500)
	return low, low + 101
}

// setSysctl sets (or adds) one of the pod's sysctls.
func setSysctl(pod *v1.Pod, name, value string) {
	if pod.Spec.SecurityContext == nil {
		pod.Spec.SecurityContext = &v1.PodSecurityContext{}
	}
	for i := range pod.Spec.SecurityContext.Sysctls {
		if s := &pod.Spec.SecurityContext.Sysctls[i]; s.Name == name {
			s.Value = value
			return
		}
	}
	pod.Spec.SecurityContext.Sysctls = append(pod.Spec.SecurityContext.Sysctls, v1.Sysctl{Name: name, Value: value})
}

// sysctlIn reads a /proc/sys file in container, its fields joined by one space.
func sysctlIn(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, container, path string) string {
	ginkgo.GinkgoHelper()
	return sysctlOf(probe.Run(ctx, f, pod, container, "file", "read", path))
}

// sysctlOf is the value a `file read` of a sysctl's /proc/sys file returned,
// its fields joined by single spaces.
func sysctlOf(r probe.Result) string {
	ginkgo.GinkgoHelper()
	var file probe.File
	r.DecodeOK(&file)
	return strings.Join(strings.Fields(file.Content), " ")
}

// localPort is the client's own port of a dial.
func localPort(d probe.Dial) int {
	ginkgo.GinkgoHelper()
	_, port, err := net.SplitHostPort(d.Local)
	n, convErr := strconv.Atoi(port)
	if err != nil || convErr != nil {
		e2eframework.Failf("the dial reports no local address: %+v", d)
	}
	return n
}
