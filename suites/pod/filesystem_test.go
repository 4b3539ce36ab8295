package pod

import (
	"context"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	v1 "k8s.io/api/core/v1"
	e2eframework "k8s.io/kubernetes/test/e2e/framework"
	admissionapi "k8s.io/pod-security-admission/api"

	"github.com/podsem/podsem/framework/pods"
	"github.com/podsem/podsem/framework/probe"
	"github.com/podsem/podsem/framework/spec"
)

// Mount paths of the volumes fixture, in container a and in container b.
const (
	sharedA, sharedB   = "/shared", "/data/elsewhere"
	memoryA, memoryB   = "/mem", "/scratch/mem"
	handoffA, handoffB = "/handoff", "/handoff-ro"
)

var _ = ginkgo.Describe("filesystem", ginkgo.Ordered, ginkgo.ContinueOnFailure, func() {
	f := spec.SharedFramework("fs", admissionapi.LevelBaseline)
	var pod *v1.Pod

	ginkgo.BeforeAll(func(ctx context.Context) {
		pod = pods.Start(ctx, f, pods.Load("volumes"))[0]
	})

	spec.It("FS-01", func(ctx context.Context) {
		path := "/tmp/" + spec.Token("fs01")
		mine, theirs := spec.Token("fs01-a"), spec.Token("fs01-b")
		write(ctx, f, pod, "a", path, mine)
		gomega.Expect(read(ctx, f, pod, "a", path)).To(gomega.Equal(mine), "container a reads back its own file")
		var st probe.File
		probe.Into(ctx, f, pod, "b", &st, "file", "stat", path)
		gomega.Expect(st.Exists).To(gomega.BeFalse(), "%s, written by container a outside any volume, must not exist in container b", path)
		// And the other way: b's file of the same name does not replace a's.
		write(ctx, f, pod, "b", path, theirs)
		gomega.Expect(read(ctx, f, pod, "a", path)).To(gomega.Equal(mine), "container b's write of %s does not reach container a", path)
		for _, c := range []string{"a", "b"} {
			probe.Run(ctx, f, pod, c, "fs-type", "/") // evidence: each root filesystem
		}
	})

	spec.It("FS-02", func(ctx context.Context) {
		sharedBothWays(ctx, f, pod, sharedA, sharedB, "fs02")
	})

	spec.It("FS-03", func(ctx context.Context) {
		for _, m := range []struct{ container, path string }{{"a", memoryA}, {"b", memoryB}} {
			var fs probe.FSType
			probe.Into(ctx, f, pod, m.container, &fs, "fs-type", m.path)
			gomega.Expect(fs.Type).To(gomega.Equal("tmpfs"), "the Memory emptyDir at %s in container %s is a tmpfs", m.path, m.container)
		}
		sharedBothWays(ctx, f, pod, memoryA, memoryB, "fs03")
	})

	spec.It("FS-04", func(ctx context.Context) {
		name := spec.Token("fs04")
		payload := spec.Token("fs04-data")
		write(ctx, f, pod, "a", handoffA+"/"+name, payload)
		gomega.Expect(read(ctx, f, pod, "b", handoffB+"/"+name)).To(gomega.Equal(payload),
			"container b sees, through its read-only mount, what container a wrote")
		rejected := spec.Token("fs04-rejected")
		r := probe.Run(ctx, f, pod, "b", "file", "write", handoffB+"/"+rejected, "x")
		gomega.Expect(r.OK()).To(gomega.BeFalse(), "a write through the read-only mount must fail: %s", r.Describe())
		gomega.Expect(r.Errno).To(gomega.Equal("EROFS"), r.Describe())
		var st probe.File
		probe.Into(ctx, f, pod, "a", &st, "file", "stat", handoffA+"/"+rejected)
		gomega.Expect(st.Exists).To(gomega.BeFalse(), "the rejected file does not appear on the read-write side")
		var m probe.Mounts
		probe.Into(ctx, f, pod, "b", &m, "mounts")
		mount, ok := m.At(handoffB)
		gomega.Expect(ok).To(gomega.BeTrue(), "container b has a mount at %s", handoffB)
		gomega.Expect(mount.ReadOnly).To(gomega.BeTrue(), "mounted read-only: %+v", mount)
	})

	spec.It("FS-05", func(ctx context.Context) {
		for _, path := range []string{"/etc/hosts", "/etc/resolv.conf"} {
			a, b := read(ctx, f, pod, "a", path), read(ctx, f, pod, "b", path)
			gomega.Expect(a).NotTo(gomega.BeEmpty(), "container a has a kubelet-managed %s", path)
			gomega.Expect(b).To(gomega.Equal(a), "container b's %s is container a's", path)
		}
		gomega.Expect(read(ctx, f, pod, "a", "/etc/hosts")).To(gomega.ContainSubstring(pod.Name), "/etc/hosts is the kubelet's, naming the pod")
	})
})

// sharedBothWays proves a volume mounted at pathA in container a and pathB in b is
// one directory: a's write and later update reach b, and b's write reaches a.
func sharedBothWays(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, pathA, pathB, tag string) {
	ginkgo.GinkgoHelper()
	name := spec.Token(tag)
	first, update, back := spec.Token(tag+"-first"), spec.Token(tag+"-update"), spec.Token(tag+"-back")
	write(ctx, f, pod, "a", pathA+"/"+name, first)
	gomega.Expect(read(ctx, f, pod, "b", pathB+"/"+name)).To(gomega.Equal(first), "container b reads at %s what container a wrote at %s", pathB, pathA)
	write(ctx, f, pod, "a", pathA+"/"+name, update)
	gomega.Expect(read(ctx, f, pod, "b", pathB+"/"+name)).To(gomega.Equal(update), "and sees container a's later update")
	write(ctx, f, pod, "b", pathB+"/"+name+"-back", back)
	gomega.Expect(read(ctx, f, pod, "a", pathA+"/"+name+"-back")).To(gomega.Equal(back), "and container a reads what b wrote")
}

func write(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, container, path, content string) {
	ginkgo.GinkgoHelper()
	probe.Into(ctx, f, pod, container, &probe.File{}, "file", "write", path, content)
}

// read returns a file's content, or "" when it cannot be read (recorded as evidence).
func read(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, container, path string) string {
	ginkgo.GinkgoHelper()
	var out probe.File
	r := probe.Run(ctx, f, pod, container, "file", "read", path)
	if r.OK() {
		r.Decode(&out)
	}
	return out.Content
}
