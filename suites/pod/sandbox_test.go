package pod

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

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
	// restartTimeout bounds a container's restart: exit, the kubelet noticing,
	// the first restart (which the kubelet does without back-off), the startup probe.
	restartTimeout = 30 * time.Second
	// sbx-restart's and sbx-sidecar's server port.
	sandboxPort = "8080"
	// sbx-init's evidence, written by its init containers.
	initNSFile    = "/evidence/init-ns.json"
	initAddrsFile = "/evidence/init-addrs.json"
	// sbx-exit-all's and sbx-restart-all's shared emptyDir and triggers.
	exitAllShared     = "/shared"
	exitAllTrigger    = exitAllShared + "/exit-all"
	restartAllShared  = "/shared"
	restartAllTrigger = restartAllShared + "/restart-all"
)

var _ = ginkgo.Describe("sandbox: network after a restart", spec.Takes(14), func() {
	f := spec.Framework("sbx-net", admissionapi.LevelBaseline)

	spec.It("SBX-01", func(ctx context.Context) {
		pod := pods.Start(ctx, f, pods.Load("sbx-restart"))[0]
		inA := probe.Batch(ctx, f, pod, "a", []string{"ns"}, []string{"addrs"})
		before := nsIn(inA[0])
		var addrsBefore probe.Addrs
		inA[1].DecodeOK(&addrsBefore)

		restarted := restart(ctx, f, pod, "a")

		gomega.Expect(pods.IPs(restarted)).To(gomega.Equal(pods.IPs(pod)), "the pod's IPs survive the restart")
		afterA := probe.Batch(ctx, f, restarted, "a", []string{"addrs"}, []string{"ns"})
		var addrsAfter probe.Addrs
		afterA[0].DecodeOK(&addrsAfter)
		gomega.Expect(interfaceSet(addrsAfter)).To(gomega.Equal(interfaceSet(addrsBefore)), "the restarted container a has the same interfaces and addresses")
		for _, ip := range pods.IPs(pod) {
			gomega.Expect(addressesOf(addrsAfter)).To(gomega.ContainElement(ip), "pod IP %s is an address of the restarted container a", ip)
		}
		// Behaviour: b, which did not restart, reaches the restarted server on
		// localhost. b's namespace lived all along, so it is the reference (a
		// namespace's inode number can be reused once it is freed).
		other := nsOf(ctx, f, restarted, "b")
		gomega.Expect(other.Namespace("net")).To(gomega.Equal(before.Namespace("net")), "container b shared container a's network namespace before the restart")
		var d probe.Dial
		r := probe.Run(ctx, f, restarted, "b", "dial", "tcp", "127.0.0.1:"+sandboxPort, "--payload", spec.Token("sbx01"))
		r.Decode(&d)
		gomega.Expect(d.Result).To(gomega.Equal("ok"), "container b reaches the restarted server of container a on 127.0.0.1:%s: %s", sandboxPort, r.Describe())
		gomega.Expect(d.Echo).To(gomega.Equal(d.Sent))
		gomega.Expect(d.Server.NetNS).To(gomega.Equal(other.Namespace("net")), "the restarted server answers from container b's network namespace, the pod's")
		gomega.Expect(nsIn(afterA[1]).Namespace("net")).To(gomega.Equal(other.Namespace("net")), "the restarted container a is in it")
	})
})

var _ = ginkgo.Describe("sandbox: IPC after a restart", spec.Takes(11), func() {
	f := spec.Framework("sbx-ipc", admissionapi.LevelBaseline)

	spec.It("SBX-02", func(ctx context.Context) {
		pod := pods.Start(ctx, f, pods.Load("sbx-ipc"))[0]
		key := strconv.FormatInt(spec.IPCKey(), 10)
		first, second := spec.Token("sbx02-first"), spec.Token("sbx02-second")
		shm, payload := "/dev/shm/"+spec.Token("sbx02"), spec.Token("sbx02-shm")
		// The objects live in the pod's IPC namespace, which goes with the pod.
		for _, r := range probe.Batch(ctx, f, pod, "a", []string{"sysv-msg", "create", key}, []string{"sysv-msg", "send", key, first},
			[]string{"sysv-msg", "send", key, second}, []string{"file", "write", shm, payload}) {
			r.DecodeOK(&struct{}{})
		}

		restarted := restart(ctx, f, pod, "a")

		for _, m := range []struct{ container, want string }{{"a", first}, {"b", second}} {
			rs := probe.Batch(ctx, f, restarted, m.container, []string{"sysv-msg", "recv", key}, []string{"file", "read", shm})
			var got probe.IPC
			rs[0].Decode(&got)
			gomega.Expect(got.Received).To(gomega.Equal(m.want),
				"container %s receives a message container a queued (key %s) before its restart: %s", m.container, key, rs[0].Describe())
			gomega.Expect(contentOf(rs[1])).To(gomega.Equal(payload),
				"container %s reads %s, which container a wrote before its restart", m.container, shm)
		}
	})
})

var _ = ginkgo.Describe("sandbox: init containers", spec.Takes(15), func() {
	// init-uts sets the hostname (CAP_SYS_ADMIN): privileged level.
	f := spec.Framework("sbx-init", admissionapi.LevelPrivileged)

	spec.It("SBX-03", func(ctx context.Context) {
		key := strconv.FormatInt(spec.IPCKey(), 10)
		fromInit, initHostname := spec.Token("sbx03-from-init"), spec.Token("sbx03")
		withInit := pods.Load("sbx-init")
		withInit.Spec.InitContainers[0].Args = []string{"sysv-msg", "send", key, fromInit, "--create"}
		withInit.Spec.InitContainers[3].Args = []string{"hostname", "set", initHostname}
		initPod := pods.Start(ctx, f, withInit)[0]

		// What the init containers left, and the app container's own view: one exec.
		inApp := probe.Batch(ctx, f, initPod, "app", []string{"sysv-msg", "recv", key}, []string{"file", "read", initNSFile},
			[]string{"ns"}, []string{"file", "read", initAddrsFile}, []string{"addrs"})
		var got probe.IPC
		r := inApp[0]
		r.Decode(&got)
		gomega.Expect(got.Received).To(gomega.Equal(fromInit), "the app container receives the message an init container queued: %s", r.Describe())

		var initNS probe.NS
		decodeFile(inApp[1], &initNS)
		app := nsIn(inApp[2])
		gomega.Expect(initNS.Hostname).To(gomega.Equal(initPod.Name), "the init container's hostname was the pod's name")
		// Behaviour: the hostname the last init container set is the app
		// container's.
		gomega.Expect(app.Hostname).To(gomega.Equal(initHostname), "the app container's hostname is the one init container init-uts set: one UTS namespace")

		var initAddrs, appAddrs probe.Addrs
		decodeFile(inApp[3], &initAddrs)
		inApp[4].DecodeOK(&appAddrs)
		gomega.Expect(interfaceSet(initAddrs)).To(gomega.Equal(interfaceSet(appAddrs)), "the init container had the app container's interfaces and addresses")
		for _, ip := range pods.IPs(initPod) {
			gomega.Expect(addressesOf(initAddrs)).To(gomega.ContainElement(ip), "pod IP %s was an address of the init container", ip)
		}
		for _, kind := range []string{"net", "ipc", "uts"} {
			gomega.Expect(initNS.Namespace(kind)).To(gomega.Equal(app.Namespace(kind)), "the init container's %s namespace is the app container's", kind)
		}
	})

})

var _ = ginkgo.Describe("sandbox: native sidecar", spec.Takes(7), func() {
	// The app container sets the hostname (CAP_SYS_ADMIN): privileged level.
	f := spec.Framework("sbx-sidecar", admissionapi.LevelPrivileged)

	spec.It("SBX-04", func(ctx context.Context) {
		sidecarPod := pods.Start(ctx, f, pods.Load("sbx-sidecar"))[0]
		// Behaviour, in one exec: the sidecar's server reached on 127.0.0.1,
		// then again after the app container set a hostname, which the
		// sidecar's server then reports.
		hostname := spec.Token("sbx04")
		inApp := probe.Batch(ctx, f, sidecarPod, "app", []string{"ns"},
			[]string{"dial", "tcp", "127.0.0.1:" + sandboxPort, "--payload", spec.Token("sbx04")},
			[]string{"hostname", "set", hostname},
			[]string{"dial", "tcp", "127.0.0.1:" + sandboxPort, "--payload", spec.Token("sbx04")})
		app := nsIn(inApp[0])
		var d probe.Dial
		r := inApp[1]
		r.Decode(&d)
		gomega.Expect(d.Result).To(gomega.Equal("ok"), "the app container reaches the sidecar's server on 127.0.0.1:%s: %s", sandboxPort, r.Describe())
		gomega.Expect(d.Echo).To(gomega.Equal(d.Sent))
		gomega.Expect(d.Server.NetNS).To(gomega.Equal(app.Namespace("net")), "the sidecar's server answers from the app container's network namespace")
		gomega.Expect(d.Server.Hostname).To(gomega.Equal(app.Hostname), "with the app container's hostname")
		gomega.Expect(app.Hostname).To(gomega.Equal(sidecarPod.Name), "which is the pod's name")
		inApp[2].DecodeOK(&probe.Hostname{})
		d = probe.Dial{}
		r = inApp[3]
		r.Decode(&d)
		gomega.Expect(d.Server.Hostname).To(gomega.Equal(hostname), "the sidecar's server reports the hostname the app container set: one UTS namespace: %s", r.Describe())

		ipcKey := strconv.FormatInt(spec.IPCKey(), 10)
		payload := spec.Token("sbx04-msg")
		inSidecar := probe.Batch(ctx, f, sidecarPod, "sidecar", []string{"sysv-msg", "create", ipcKey},
			[]string{"sysv-msg", "send", ipcKey, payload}, []string{"ns"})
		inSidecar[0].DecodeOK(&probe.IPC{})
		inSidecar[1].DecodeOK(&probe.IPC{})
		var got probe.IPC
		r = probe.Run(ctx, f, sidecarPod, "app", "sysv-msg", "recv", ipcKey)
		r.Decode(&got)
		gomega.Expect(got.Received).To(gomega.Equal(payload), "the app container receives what the sidecar queued (key %s): %s", ipcKey, r.Describe())

		side := nsIn(inSidecar[2])
		for _, kind := range []string{"net", "ipc", "uts"} {
			gomega.Expect(side.Namespace(kind)).To(gomega.Equal(app.Namespace(kind)), "the sidecar's %s namespace is the app container's", kind)
		}
	})
})

var _ = ginkgo.Describe("sandbox: every app container exits", spec.Takes(17), func() {
	f := spec.Framework("sbx-exit-all", admissionapi.LevelBaseline)

	spec.It("SBX-06", func(ctx context.Context) {
		pod := pods.Start(ctx, f, pods.Load("sbx-exit-all"))[0]
		key := strconv.FormatInt(spec.IPCKey(), 10)
		message, kept := spec.Token("sbx06-msg"), spec.Token("sbx06-file")
		shm, shmPayload := "/dev/shm/"+spec.Token("sbx06"), spec.Token("sbx06-shm")
		before := map[string]probe.NS{}
		inA := probe.Batch(ctx, f, pod, "a", []string{"ns"}, []string{"sysv-msg", "create", key},
			[]string{"sysv-msg", "send", key, message}, []string{"file", "write", shm, shmPayload})
		inB := probe.Batch(ctx, f, pod, "b", []string{"ns"}, []string{"file", "write", exitAllShared + "/kept", kept})
		for _, r := range append(inA, inB...) {
			r.DecodeOK(&struct{}{})
		}
		before["a"], before["b"] = nsIn(inA[0]), nsIn(inB[0])
		gomega.Expect(before["b"].Namespace("net")).To(gomega.Equal(before["a"].Namespace("net")), "containers a and b share the pod's network namespace before they exit")

		// One trigger ends both entrypoints; the kubelet restarts both.
		triggered := map[string]string{"a": containerStatus(pod, "a").ContainerID, "b": containerStatus(pod, "b").ContainerID}
		probe.RunEnding(ctx, f, pod, "a", "file", "write", exitAllTrigger, "go")
		restarted := awaitRestarted(ctx, f, pod, triggered, "after the one trigger")
		var ends []time.Time
		for c, id := range triggered {
			last := containerStatus(restarted, c).LastTerminationState.Terminated
			gomega.Expect(last).NotTo(gomega.BeNil(), "container %s has ended once: %s", c, pods.States(restarted))
			gomega.Expect(last.ContainerID).To(gomega.Equal(id), "what container %s last ended is the container that got the trigger", c)
			gomega.Expect(last.ExitCode).To(gomega.BeZero(), "container %s exited by itself (exit 0) on the trigger: %+v", c, *last)
			ends = append(ends, last.FinishedAt.Time)
		}
		ginkgo.AddReportEntry("both app containers ended", fmt.Sprintf("finished at %v; %s", ends, pods.States(restarted)), ginkgo.ReportEntryVisibilityFailureOrVerbose)
		// The times have a resolution of one second: ended together means within it.
		gomega.Expect(ends[0].Sub(ends[1]).Abs()).To(gomega.BeNumerically("<=", time.Second), "both app containers ended at the same moment, so the pod had none running: %v", ends)

		// The sandbox held while no app container ran.
		gomega.Expect(pods.IPs(restarted)).To(gomega.Equal(pods.IPs(pod)), "the pod's IPs survive both restarts")
		for _, c := range []string{"a", "b"} {
			calls := [][]string{{"ns"}, {"addrs"}, {"file", "read", shm}, {"file", "read", exitAllShared + "/kept"}}
			if c == "b" {
				calls = append(calls, []string{"sysv-msg", "recv", key})
			}
			rs := probe.Batch(ctx, f, restarted, c, calls...)
			after := nsIn(rs[0])
			gomega.Expect(after.Namespace("net")).To(gomega.Equal(before[c].Namespace("net")), "restarted container %s is in the pod's network namespace of before", c)
			gomega.Expect(after.Namespace("ipc")).To(gomega.Equal(before[c].Namespace("ipc")), "and its IPC namespace")
			var addrs probe.Addrs
			rs[1].DecodeOK(&addrs)
			for _, ip := range pods.IPs(restarted) {
				gomega.Expect(addressesOf(addrs)).To(gomega.ContainElement(ip), "pod IP %s is an address of restarted container %s", ip, c)
			}
			gomega.Expect(contentOf(rs[2])).To(gomega.Equal(shmPayload), "restarted container %s reads %s, written before the exits", c, shm)
			gomega.Expect(contentOf(rs[3])).To(gomega.Equal(kept), "restarted container %s reads the emptyDir file written before the exits", c)
			if c == "b" {
				// Behaviour: the SysV message queued before every app container
				// exited is still in the pod's IPC namespace.
				var got probe.IPC
				rs[4].Decode(&got)
				gomega.Expect(got.Received).To(gomega.Equal(message), "restarted container b receives the message queued (key %s) before both exited: %s", key, rs[4].Describe())
			}
		}
	})
})

var _ = ginkgo.Describe("sandbox: restart-all rule", spec.Takes(18), func() {
	f := spec.Framework("sbx-restart-all", admissionapi.LevelBaseline)

	spec.It("SBX-07", func(ctx context.Context) {
		pod, skip := pods.StartOptional(ctx, f, pods.Load("sbx-restart-all"))
		if skip != "" {
			spec.NotOffered(skip)
		}
		// An API server without container restart rules drops the field: the pod
		// runs, but a's exit would only end a.
		if a := pod.Spec.Containers[0]; len(a.RestartPolicyRules) == 0 {
			spec.NotOffered("the API server dropped restartPolicyRules (ContainerRestartRules or RestartAllContainersOnContainerExits not enabled)")
		}
		kept := spec.Token("sbx07-file")
		inB := probe.Batch(ctx, f, pod, "b", []string{"ns"}, []string{"file", "write", restartAllShared + "/kept", kept},
			[]string{"file", "read", restartAllShared + "/init-runs"})
		inB[1].DecodeOK(&probe.File{})
		before := map[string]probe.NS{"a": nsOf(ctx, f, pod, "a"), "b": nsIn(inB[0])}
		gomega.Expect(contentOf(inB[2])).To(gomega.Equal("ran\n"), "the init container ran once before the rule fires")

		// a exits 42; its rule restarts every container, init container first.
		triggered := map[string]string{"a": containerStatus(pod, "a").ContainerID, "b": containerStatus(pod, "b").ContainerID}
		probe.RunEnding(ctx, f, pod, "a", "file", "write", restartAllTrigger, "go")
		restarted := awaitRestarted(ctx, f, pod, triggered, "by a's RestartAllContainers rule")

		afterA := probe.Batch(ctx, f, restarted, "a", []string{"file", "read", restartAllShared + "/kept"}, []string{"ns"}, []string{"addrs"})
		afterB := probe.Batch(ctx, f, restarted, "b", []string{"file", "read", restartAllShared + "/init-runs"}, []string{"ns"}, []string{"addrs"})
		gomega.Expect(contentOf(afterB[0])).To(gomega.Equal("ran\nran\n"), "the init container ran again before the app containers")
		gomega.Expect(contentOf(afterA[0])).To(gomega.Equal(kept), "the emptyDir file written before the restart is kept")
		gomega.Expect(pods.IPs(restarted)).To(gomega.Equal(pods.IPs(pod)), "the pod's IPs survive the restart of every container")
		gomega.Expect(restarted.UID).To(gomega.Equal(pod.UID), "it is the same pod")
		for c, rs := range map[string][]probe.Result{"a": afterA, "b": afterB} {
			after := nsIn(rs[1])
			gomega.Expect(after.Namespace("net")).To(gomega.Equal(before[c].Namespace("net")), "restarted container %s is in the network namespace of before: the same sandbox", c)
			var addrs probe.Addrs
			rs[2].DecodeOK(&addrs)
			for _, ip := range pods.IPs(restarted) {
				gomega.Expect(addressesOf(addrs)).To(gomega.ContainElement(ip), "pod IP %s is an address of restarted container %s", ip, c)
			}
		}
	})
})

// awaitRestarted waits, bounded, until every container in triggered (name to
// the container ID that got the trigger) runs again as a new container and
// the pod is Ready.
func awaitRestarted(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, triggered map[string]string, why string) *v1.Pod {
	ginkgo.GinkgoHelper()
	restarted, err := pods.WaitFor(ctx, f, pod.Name, restartTimeout, "every app container restarted "+why+" and Ready", func(p *v1.Pod) (bool, error) {
		for c, id := range triggered {
			s := containerStatus(p, c)
			if s == nil || s.ContainerID == id || s.State.Running == nil || !s.Ready {
				return false, nil
			}
		}
		return true, nil
	})
	e2eframework.ExpectNoError(err)
	ginkgo.AddReportEntry("restarted "+why, pods.States(restarted), ginkgo.ReportEntryVisibilityFailureOrVerbose)
	return restarted
}

// restart makes container of pod exit (its podprobe entrypoint ends on SIGTERM)
// and waits, bounded, until the kubelet has restarted it and it is Ready again.
// The entrypoint is found by its command line rather than taken to be PID 1:
// in a PID namespace shared by mistake, PID 1 is the sandbox's, and killing it
// would end the whole pod.
func restart(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, container string) *v1.Pod {
	ginkgo.GinkgoHelper()
	var cmdline string
	for _, c := range pod.Spec.Containers {
		if c.Name == container {
			cmdline = strings.Join(append([]string{probe.Binary}, c.Args...), " ")
		}
	}
	entry := exactly(ps(ctx, f, pod, container), cmdline)
	gomega.Expect(entry).To(gomega.HaveLen(1), "container %s's entrypoint %q is one process it sees", container, cmdline)
	old := containerStatus(pod, container)
	probe.RunEnding(ctx, f, pod, container, "signal", strconv.Itoa(entry[0].PID), "SIGTERM")
	// A new container ID, not only a restart count: the count may be up from
	// an earlier failed start, and the status may lag behind the exit.
	restarted, err := pods.WaitFor(ctx, f, pod.Name, restartTimeout, "container "+container+" restarted and Ready", func(p *v1.Pod) (bool, error) {
		s := containerStatus(p, container)
		return s.ContainerID != old.ContainerID && s.RestartCount > old.RestartCount && s.Ready && s.State.Running != nil, nil
	})
	e2eframework.ExpectNoError(err)
	ginkgo.AddReportEntry("after the restart of "+container, pods.States(restarted), ginkgo.ReportEntryVisibilityFailureOrVerbose)
	return restarted
}

// readJSON reads a file in container and decodes it as JSON into v.
func readJSON(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, container, path string, v any) {
	ginkgo.GinkgoHelper()
	decodeFile(probe.Run(ctx, f, pod, container, "file", "read", path), v)
}

// decodeFile decodes the JSON file a `file read` returned into v.
func decodeFile(r probe.Result, v any) {
	ginkgo.GinkgoHelper()
	var file probe.File
	r.DecodeOK(&file)
	if err := json.Unmarshal([]byte(file.Content), v); err != nil {
		e2eframework.Failf("%s: %v: %q", r.Describe(), err, file.Content)
	}
}
