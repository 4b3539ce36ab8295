package pod

import (
	"context"
	"strconv"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	v1 "k8s.io/api/core/v1"
	admissionapi "k8s.io/pod-security-admission/api"

	"github.com/podsem/podsem/framework/pods"
	"github.com/podsem/podsem/framework/probe"
	"github.com/podsem/podsem/framework/spec"
)

var _ = ginkgo.Describe("ipc", spec.Takes(19), ginkgo.Ordered, ginkgo.ContinueOnFailure, func() {
	f := spec.SharedFramework("ipc", admissionapi.LevelBaseline)
	var pair, other *v1.Pod

	ginkgo.BeforeAll(func(ctx context.Context) {
		started, neighbour := pods.StartBesideNeighbour(ctx, f, pods.Load("pair"))
		pair, other = started[0], neighbour
	})

	// ipc runs podprobe in pair's container and expects success.
	ipc := func(ctx context.Context, container string, args ...string) probe.IPC {
		ginkgo.GinkgoHelper()
		var out probe.IPC
		probe.Into(ctx, f, pair, container, &out, args...)
		return out
	}
	// ipcs is ipc for several calls in one exec.
	ipcs := func(ctx context.Context, container string, calls ...[]string) []probe.IPC {
		ginkgo.GinkgoHelper()
		out := make([]probe.IPC, len(calls))
		for i, r := range probe.Batch(ctx, f, pair, container, calls...) {
			r.DecodeOK(&out[i])
		}
		return out
	}

	spec.It("IPC-01", func(ctx context.Context) {
		key := strconv.FormatInt(spec.IPCKey(), 10)
		there, back := spec.Token("ipc01-a-to-b"), spec.Token("ipc01-b-to-a")
		ginkgo.DeferCleanup(probe.Run, f, pair, "a", "sysv-msg", "remove", key)
		ipcs(ctx, "a", []string{"sysv-msg", "create", key}, []string{"sysv-msg", "send", key, there})
		inB := ipcs(ctx, "b", []string{"sysv-msg", "recv", key}, []string{"sysv-msg", "send", key, back})
		gomega.Expect(inB[0].Received).To(gomega.Equal(there),
			"container b receives, from the queue container a created by key %s, what a sent", key)
		gomega.Expect(ipc(ctx, "a", "sysv-msg", "recv", key).Received).To(gomega.Equal(back), "and the other way")
	})

	spec.It("IPC-02", func(ctx context.Context) {
		key := strconv.FormatInt(spec.IPCKey(), 10)
		payload := spec.Token("ipc02")
		ipc(ctx, "a", "sysv-shm", "write", key, payload)
		ginkgo.DeferCleanup(probe.Run, f, pair, "a", "sysv-shm", "remove", key)
		gomega.Expect(ipc(ctx, "b", "sysv-shm", "read", key).Read).To(gomega.Equal(payload),
			"container b reads the segment container a wrote under key %s", key)
	})

	spec.It("IPC-03", func(ctx context.Context) {
		name, payload := spec.Token("ipc03"), spec.Token("ipc03-msg")
		ginkgo.DeferCleanup(probe.Run, f, pair, "a", "posix-mq", "remove", name)
		ipcs(ctx, "a", []string{"posix-mq", "create", name}, []string{"posix-mq", "send", name, payload})
		gomega.Expect(ipc(ctx, "b", "posix-mq", "recv", name).Received).To(gomega.Equal(payload),
			"container b receives from POSIX queue /%s what container a sent", name)
	})

	spec.It("IPC-04", func(ctx context.Context) {
		path := "/dev/shm/" + spec.Token("ipc04")
		payload := spec.Token("ipc04-data")
		// Each container: its side of the file, what /dev/shm is, and (evidence)
		// the file's inode, the same in both.
		inA := probe.Batch(ctx, f, pair, "a", []string{"file", "write", path, payload}, []string{"fs-type", "/dev/shm"}, []string{"file", "stat", path})
		inB := probe.Batch(ctx, f, pair, "b", []string{"file", "read", path}, []string{"fs-type", "/dev/shm"}, []string{"file", "stat", path})
		var wrote, read probe.File
		inA[0].DecodeOK(&wrote)
		inB[0].DecodeOK(&read)
		gomega.Expect(read.Content).To(gomega.Equal(payload), "container b reads %s as container a wrote it", path)
		for c, rs := range map[string][]probe.Result{"a": inA, "b": inB} {
			var fs probe.FSType
			rs[1].DecodeOK(&fs)
			gomega.Expect(fs.Type).To(gomega.Equal("tmpfs"), "/dev/shm in container %s is POSIX shared memory (tmpfs)", c)
		}
	})

	spec.It("IPC-05", func(ctx context.Context) {
		msgKey := strconv.FormatInt(spec.IPCKey(), 10)
		shmKey := strconv.FormatInt(spec.IPCKey(), 10)
		mq := spec.Token("ipc05")
		shmFile := "/dev/shm/" + spec.Token("ipc05")
		ginkgo.DeferCleanup(func(ctx context.Context) {
			probe.Batch(ctx, f, pair, "a", []string{"sysv-msg", "remove", msgKey}, []string{"sysv-shm", "remove", shmKey}, []string{"posix-mq", "remove", mq})
		})
		for _, r := range probe.Batch(ctx, f, pair, "a", []string{"sysv-msg", "create", msgKey}, []string{"sysv-shm", "write", shmKey, "ipc05"},
			[]string{"posix-mq", "create", mq}, []string{"file", "write", shmFile, "ipc05"}) {
			r.DecodeOK(&struct{}{})
		}

		// Positive control: within the pod, the objects are there.
		gomega.Expect(ipc(ctx, "b", "sysv-shm", "read", shmKey).Read).To(gomega.Equal("ipc05"))

		for _, r := range probe.Batch(ctx, f, other, "main",
			[]string{"sysv-msg", "send", msgKey, "intruder"},
			[]string{"sysv-shm", "read", shmKey},
			[]string{"posix-mq", "send", mq, "intruder"},
			[]string{"file", "read", shmFile},
		) {
			gomega.Expect(r.OK()).To(gomega.BeFalse(), "another pod must not reach pod %s's IPC object: %s", pair.Name, r.Describe())
			gomega.Expect(r.Errno).To(gomega.Equal("ENOENT"), "the object does not exist in another pod: %s", r.Describe())
		}
	})
})
