package pod

import (
	"context"
	"encoding/json"
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
	// the first restart (which the kubelet does without back-off), readiness.
	restartTimeout = 30 * time.Second
	// sbx-restart's and sbx-sidecar's server port.
	sandboxPort = "8080"
	// sbx-init's evidence, written by its init containers.
	initNSFile    = "/evidence/init-ns.json"
	initAddrsFile = "/evidence/init-addrs.json"
)

var _ = ginkgo.Describe("sandbox: network after a restart", func() {
	f := spec.Framework("sbx-net", admissionapi.LevelBaseline)

	spec.It("SBX-01", func(ctx context.Context) {
		pod := pods.Start(ctx, f, pods.Load("sbx-restart"))[0]
		before := nsOf(ctx, f, pod, "a")
		var addrsBefore probe.Addrs
		probe.Into(ctx, f, pod, "a", &addrsBefore, "addrs")

		restarted := restart(ctx, f, pod, "a")

		gomega.Expect(pods.IPs(restarted)).To(gomega.Equal(pods.IPs(pod)), "the pod's IPs survive the restart")
		var addrsAfter probe.Addrs
		probe.Into(ctx, f, restarted, "a", &addrsAfter, "addrs")
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
		gomega.Expect(nsOf(ctx, f, restarted, "a").Namespace("net")).To(gomega.Equal(other.Namespace("net")), "the restarted container a is in it")
	})
})

var _ = ginkgo.Describe("sandbox: IPC after a restart", func() {
	f := spec.Framework("sbx-ipc", admissionapi.LevelBaseline)

	spec.It("SBX-02", func(ctx context.Context) {
		pod := pods.Start(ctx, f, pods.Load("sbx-ipc"))[0]
		key := strconv.FormatInt(spec.IPCKey(), 10)
		first, second := spec.Token("sbx02-first"), spec.Token("sbx02-second")
		shm, payload := "/dev/shm/"+spec.Token("sbx02"), spec.Token("sbx02-shm")
		// The objects live in the pod's IPC namespace, which goes with the pod.
		probe.Into(ctx, f, pod, "a", &probe.IPC{}, "sysv-msg", "create", key)
		probe.Into(ctx, f, pod, "a", &probe.IPC{}, "sysv-msg", "send", key, first)
		probe.Into(ctx, f, pod, "a", &probe.IPC{}, "sysv-msg", "send", key, second)
		write(ctx, f, pod, "a", shm, payload)

		restarted := restart(ctx, f, pod, "a")

		for _, m := range []struct{ container, want string }{{"a", first}, {"b", second}} {
			r := probe.Run(ctx, f, restarted, m.container, "sysv-msg", "recv", key)
			var got probe.IPC
			r.Decode(&got)
			gomega.Expect(got.Received).To(gomega.Equal(m.want),
				"container %s receives a message container a queued (key %s) before its restart: %s", m.container, key, r.Describe())
			gomega.Expect(read(ctx, f, restarted, m.container, shm)).To(gomega.Equal(payload),
				"container %s reads %s, which container a wrote before its restart", m.container, shm)
		}
	})
})

var _ = ginkgo.Describe("sandbox: init containers", func() {
	// init-uts sets the hostname (CAP_SYS_ADMIN): privileged level.
	f := spec.Framework("sbx-init", admissionapi.LevelPrivileged)

	spec.It("SBX-03", func(ctx context.Context) {
		key := strconv.FormatInt(spec.IPCKey(), 10)
		fromInit, initHostname := spec.Token("sbx03-from-init"), spec.Token("sbx03")
		withInit := pods.Load("sbx-init")
		withInit.Spec.InitContainers[0].Args = []string{"sysv-msg", "send", key, fromInit, "--create"}
		withInit.Spec.InitContainers[3].Args = []string{"hostname", "set", initHostname}
		initPod := pods.Start(ctx, f, withInit)[0]

		var got probe.IPC
		r := probe.Run(ctx, f, initPod, "app", "sysv-msg", "recv", key)
		r.Decode(&got)
		gomega.Expect(got.Received).To(gomega.Equal(fromInit), "the app container receives the message an init container queued: %s", r.Describe())

		var initNS probe.NS
		readJSON(ctx, f, initPod, "app", initNSFile, &initNS)
		app := nsOf(ctx, f, initPod, "app")
		gomega.Expect(initNS.Hostname).To(gomega.Equal(initPod.Name), "the init container's hostname was the pod's name")
		// Behaviour: the hostname the last init container set is the app
		// container's.
		gomega.Expect(app.Hostname).To(gomega.Equal(initHostname), "the app container's hostname is the one init container init-uts set: one UTS namespace")

		var initAddrs, appAddrs probe.Addrs
		readJSON(ctx, f, initPod, "app", initAddrsFile, &initAddrs)
		probe.Into(ctx, f, initPod, "app", &appAddrs, "addrs")
		gomega.Expect(interfaceSet(initAddrs)).To(gomega.Equal(interfaceSet(appAddrs)), "the init container had the app container's interfaces and addresses")
		for _, ip := range pods.IPs(initPod) {
			gomega.Expect(addressesOf(initAddrs)).To(gomega.ContainElement(ip), "pod IP %s was an address of the init container", ip)
		}
		for _, kind := range []string{"net", "ipc", "uts"} {
			gomega.Expect(initNS.Namespace(kind)).To(gomega.Equal(app.Namespace(kind)), "the init container's %s namespace is the app container's", kind)
		}
	})

})

var _ = ginkgo.Describe("sandbox: native sidecar", func() {
	// The app container sets the hostname (CAP_SYS_ADMIN): privileged level.
	f := spec.Framework("sbx-sidecar", admissionapi.LevelPrivileged)

	spec.It("SBX-04", func(ctx context.Context) {
		sidecarPod := pods.Start(ctx, f, pods.Load("sbx-sidecar"))[0]
		app := nsOf(ctx, f, sidecarPod, "app")
		var d probe.Dial
		r := probe.Run(ctx, f, sidecarPod, "app", "dial", "tcp", "127.0.0.1:"+sandboxPort, "--payload", spec.Token("sbx04"))
		r.Decode(&d)
		gomega.Expect(d.Result).To(gomega.Equal("ok"), "the app container reaches the sidecar's server on 127.0.0.1:%s: %s", sandboxPort, r.Describe())
		gomega.Expect(d.Echo).To(gomega.Equal(d.Sent))
		gomega.Expect(d.Server.NetNS).To(gomega.Equal(app.Namespace("net")), "the sidecar's server answers from the app container's network namespace")
		gomega.Expect(d.Server.Hostname).To(gomega.Equal(app.Hostname), "with the app container's hostname")
		gomega.Expect(app.Hostname).To(gomega.Equal(sidecarPod.Name), "which is the pod's name")
		// Behaviour: a hostname the app container sets is the one the sidecar's
		// server reports.
		hostname := spec.Token("sbx04")
		probe.Into(ctx, f, sidecarPod, "app", &probe.Hostname{}, "hostname", "set", hostname)
		d = probe.Dial{}
		r = probe.Run(ctx, f, sidecarPod, "app", "dial", "tcp", "127.0.0.1:"+sandboxPort, "--payload", spec.Token("sbx04"))
		r.Decode(&d)
		gomega.Expect(d.Server.Hostname).To(gomega.Equal(hostname), "the sidecar's server reports the hostname the app container set: one UTS namespace: %s", r.Describe())

		ipcKey := strconv.FormatInt(spec.IPCKey(), 10)
		payload := spec.Token("sbx04-msg")
		probe.Into(ctx, f, sidecarPod, "sidecar", &probe.IPC{}, "sysv-msg", "create", ipcKey)
		probe.Into(ctx, f, sidecarPod, "sidecar", &probe.IPC{}, "sysv-msg", "send", ipcKey, payload)
		var got probe.IPC
		r = probe.Run(ctx, f, sidecarPod, "app", "sysv-msg", "recv", ipcKey)
		r.Decode(&got)
		gomega.Expect(got.Received).To(gomega.Equal(payload), "the app container receives what the sidecar queued (key %s): %s", ipcKey, r.Describe())

		side := nsOf(ctx, f, sidecarPod, "sidecar")
		for _, kind := range []string{"net", "ipc", "uts"} {
			gomega.Expect(side.Namespace(kind)).To(gomega.Equal(app.Namespace(kind)), "the sidecar's %s namespace is the app container's", kind)
		}
	})
})

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
	var file probe.File
	probe.Into(ctx, f, pod, container, &file, "file", "read", path)
	if err := json.Unmarshal([]byte(file.Content), v); err != nil {
		e2eframework.Failf("%s in container %s: %v: %q", path, container, err, file.Content)
	}
}
