package pod

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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

var _ = ginkgo.Describe("filesystem", spec.Takes(20), ginkgo.Ordered, ginkgo.ContinueOnFailure, func() {
	f := spec.SharedFramework("fs", admissionapi.LevelBaseline)
	var pod *v1.Pod
	// DNS settings of this pod's own, for FS-05 to find in resolv.conf: a
	// search domain unique to the run and an ndots no default has.
	searchDomain := spec.Token("fs05") + ".podsem.test"
	// FS-06's pod is created here, to start beside the other, and awaited in
	// FS-06: a cluster without image volumes fails or skips FS-06 alone. A
	// run whose filter leaves FS-06 out (the kit's sample) does without it.
	var image *v1.Pod
	imageErr := errors.New("pod fs-image was not created: the run's label filter left FS-06 out")

	ginkgo.BeforeAll(func(ctx context.Context) {
		if spec.Selected("FS-06") {
			image, imageErr = createEarly(ctx, f, "fs-image", func(*v1.Pod) {})
		}
		ndots := fs05Ndots
		pod = pods.StartFixture(ctx, f, "volumes", func(p *v1.Pod) {
			p.Spec.DNSConfig = &v1.PodDNSConfig{
				Searches: []string{searchDomain},
				Options:  []v1.PodDNSConfigOption{{Name: "ndots", Value: &ndots}},
			}
		})
	})

	spec.It("FS-01", func(ctx context.Context) {
		path := "/tmp/" + spec.Token("fs01")
		mine, theirs := spec.Token("fs01-a"), spec.Token("fs01-b")
		inA := probe.Batch(ctx, f, pod, "a", []string{"file", "write", path, mine}, []string{"file", "read", path})
		inA[0].DecodeOK(&probe.File{})
		gomega.Expect(contentOf(inA[1])).To(gomega.Equal(mine), "container a reads back its own file")
		// And the other way: b's file of the same name does not replace a's.
		// (fs-type: evidence, each root filesystem.)
		inB := probe.Batch(ctx, f, pod, "b", []string{"file", "stat", path}, []string{"file", "write", path, theirs}, []string{"fs-type", "/"})
		var st probe.File
		inB[0].DecodeOK(&st)
		gomega.Expect(st.Exists).To(gomega.BeFalse(), "%s, written by container a outside any volume, must not exist in container b", path)
		inB[1].DecodeOK(&probe.File{})
		again := probe.Batch(ctx, f, pod, "a", []string{"file", "read", path}, []string{"fs-type", "/"})
		gomega.Expect(contentOf(again[0])).To(gomega.Equal(mine), "container b's write of %s does not reach container a", path)
	})

	spec.It("FS-02", func(ctx context.Context) {
		sharedBothWays(ctx, f, pod, sharedA, sharedB, "fs02")
	})

	spec.It("FS-03", func(ctx context.Context) {
		types := sharedBothWays(ctx, f, pod, memoryA, memoryB, "fs03")
		for c, path := range map[string]string{"a": memoryA, "b": memoryB} {
			gomega.Expect(types[c].Type).To(gomega.Equal("tmpfs"), "the Memory emptyDir at %s in container %s is a tmpfs", path, c)
		}
	})

	spec.It("FS-04", func(ctx context.Context) {
		name := spec.Token("fs04")
		payload := spec.Token("fs04-data")
		rejected := spec.Token("fs04-rejected")
		write(ctx, f, pod, "a", handoffA+"/"+name, payload)
		inB := probe.Batch(ctx, f, pod, "b", []string{"file", "read", handoffB + "/" + name},
			[]string{"file", "write", handoffB + "/" + rejected, "x"}, []string{"mounts"})
		gomega.Expect(contentOf(inB[0])).To(gomega.Equal(payload),
			"container b sees, through its read-only mount, what container a wrote")
		r := inB[1]
		gomega.Expect(r.OK()).To(gomega.BeFalse(), "a write through the read-only mount must fail: %s", r.Describe())
		gomega.Expect(r.Errno).To(gomega.Equal("EROFS"), r.Describe())
		var st probe.File
		probe.Into(ctx, f, pod, "a", &st, "file", "stat", handoffA+"/"+rejected)
		gomega.Expect(st.Exists).To(gomega.BeFalse(), "the rejected file does not appear on the read-write side")
		var m probe.Mounts
		inB[2].DecodeOK(&m)
		mount, ok := m.At(handoffB)
		gomega.Expect(ok).To(gomega.BeTrue(), "container b has a mount at %s", handoffB)
		gomega.Expect(mount.ReadOnly).To(gomega.BeTrue(), "mounted read-only: %+v", mount)
	})

	spec.It("FS-05", func(ctx context.Context) {
		// The files are the kubelet's for this pod: /etc/hosts maps the pod's IP
		// to its hostname, resolv.conf carries the pod's dnsConfig. Then every
		// container has the same ones.
		inA := probe.Batch(ctx, f, pod, "a", []string{"file", "read", "/etc/hosts"}, []string{"file", "read", "/etc/resolv.conf"})
		inB := probe.Batch(ctx, f, pod, "b", []string{"file", "read", "/etc/hosts"}, []string{"file", "read", "/etc/resolv.conf"})
		hosts := contentOf(inA[0])
		gomega.Expect(hostsNames(hosts, pods.IPs(pod))).To(gomega.ContainElement(pod.Name),
			"container a's /etc/hosts gives the pod's IP %v the pod's hostname %s: it is the kubelet's file for this pod:\n%s", pods.IPs(pod), pod.Name, hosts)
		resolv := contentOf(inA[1])
		gomega.Expect(resolvField(resolv, "search")).To(gomega.ContainElement(searchDomain),
			"container a's resolv.conf searches the pod's dnsConfig domain %s:\n%s", searchDomain, resolv)
		gomega.Expect(resolvField(resolv, "options")).To(gomega.ContainElement("ndots:"+fs05Ndots),
			"container a's resolv.conf has the pod's dnsConfig option ndots:%s:\n%s", fs05Ndots, resolv)
		for i, path := range []string{"/etc/hosts", "/etc/resolv.conf"} {
			gomega.Expect(contentOf(inB[i])).To(gomega.Equal(contentOf(inA[i])), "container b's %s is container a's", path)
		}
	})

	spec.It("FS-06", func(ctx context.Context) {
		// An API server without the feature drops the volume and its mounts:
		// the pod would run without it.
		if apierrors.IsInvalid(imageErr) || apierrors.IsBadRequest(imageErr) {
			ginkgo.Skip(fmt.Sprintf("the API server rejects image volumes: the cluster predates the feature (GA in v1.36): %v", imageErr))
		}
		e2eframework.ExpectNoError(imageErr, "creating pod fs-image")
		if !slices.ContainsFunc(image.Spec.Volumes, func(v v1.Volume) bool { return v.Image != nil }) {
			ginkgo.Skip("the API server dropped the image volume: the cluster predates the feature (GA in v1.36)")
		}
		p, err := pods.WaitReady(ctx, f, image.Name, pods.ReadyTimeout)
		e2eframework.ExpectNoError(err)
		ginkgo.AddReportEntry("pod "+p.Name, pods.Summary(p), ginkgo.ReportEntryVisibilityFailureOrVerbose)

		// The same files: the image's podprobe binary, the one each container
		// runs from its own root filesystem, is one file at both mount paths.
		// And read-only in both, whatever the mounts ask for: the writes decide.
		// Each container's observations in one exec.
		inA := probe.Batch(ctx, f, p, "a", []string{"file", "stat", probe.Binary}, []string{"file", "stat", imageA + probe.Binary},
			[]string{"file", "write", imageA + "/" + spec.Token("fs06"), "x"})
		inB := probe.Batch(ctx, f, p, "b", []string{"file", "stat", imageB + probe.Binary},
			[]string{"file", "write", imageB + "/" + spec.Token("fs06"), "x"})
		in := map[string][]probe.Result{"a": inA[1:], "b": inB}
		var own probe.File
		inA[0].DecodeOK(&own)
		seen := map[string]probe.File{}
		for _, m := range []struct{ container, path string }{{"a", imageA}, {"b", imageB}} {
			var st probe.File
			in[m.container][0].DecodeOK(&st)
			gomega.Expect(st.Exists).To(gomega.BeTrue(), "container %s sees the image's %s at %s", m.container, probe.Binary, m.path)
			gomega.Expect(st.Size).To(gomega.Equal(own.Size), "container %s's %s%s is the image's binary, %d bytes", m.container, m.path, probe.Binary, own.Size)
			seen[m.container] = st
		}
		gomega.Expect(seen["b"].Inode).To(gomega.Equal(seen["a"].Inode), "containers a and b see one file: the same inode at %s and %s", imageA, imageB)

		for _, m := range []struct{ container, path string }{{"a", imageA}, {"b", imageB}} {
			r := in[m.container][1]
			gomega.Expect(r.OK()).To(gomega.BeFalse(), "a write to the image volume at %s in container %s must fail: %s", m.path, m.container, r.Describe())
			gomega.Expect(r.Errno).To(gomega.Equal("EROFS"), r.Describe())
		}
	})
})

// Mount paths of fs-image's image volume, in container a and in container b.
const imageA, imageB = "/image", "/opt/podprobe-image"

// sharedBothWays proves a volume mounted at pathA in container a and pathB in b is
// one directory: a's write and later update reach b, and b's write reaches a.
// It returns what filesystem each container has there (from its first exec).
func sharedBothWays(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, pathA, pathB, tag string) map[string]probe.FSType {
	ginkgo.GinkgoHelper()
	name := spec.Token(tag)
	first, update, back := spec.Token(tag+"-first"), spec.Token(tag+"-update"), spec.Token(tag+"-back")
	inA := probe.Batch(ctx, f, pod, "a", []string{"file", "write", pathA + "/" + name, first}, []string{"fs-type", pathA})
	inA[0].DecodeOK(&probe.File{})
	inB := probe.Batch(ctx, f, pod, "b", []string{"file", "read", pathB + "/" + name}, []string{"fs-type", pathB})
	gomega.Expect(contentOf(inB[0])).To(gomega.Equal(first), "container b reads at %s what container a wrote at %s", pathB, pathA)
	var typeA, typeB probe.FSType
	inA[1].DecodeOK(&typeA)
	inB[1].DecodeOK(&typeB)
	write(ctx, f, pod, "a", pathA+"/"+name, update)
	inB = probe.Batch(ctx, f, pod, "b", []string{"file", "read", pathB + "/" + name}, []string{"file", "write", pathB + "/" + name + "-back", back})
	gomega.Expect(contentOf(inB[0])).To(gomega.Equal(update), "and sees container a's later update")
	inB[1].DecodeOK(&probe.File{})
	gomega.Expect(read(ctx, f, pod, "a", pathA+"/"+name+"-back")).To(gomega.Equal(back), "and container a reads what b wrote")
	return map[string]probe.FSType{"a": typeA, "b": typeB}
}

// fs05Ndots is the ndots option FS-05 gives its pod.
const fs05Ndots = "3"

// hostsNames lists the names /etc/hosts content gives any of ips.
func hostsNames(hosts string, ips []string) []string {
	var names []string
	for _, line := range strings.Split(hosts, "\n") {
		if fields := strings.Fields(line); len(fields) >= 2 && slices.Contains(ips, fields[0]) {
			names = append(names, fields[1:]...)
		}
	}
	return names
}

// resolvField lists the values of resolv.conf's lines for keyword ("search",
// "options", "nameserver").
func resolvField(resolv, keyword string) []string {
	var values []string
	for _, line := range strings.Split(resolv, "\n") {
		if fields := strings.Fields(line); len(fields) >= 2 && fields[0] == keyword {
			values = append(values, fields[1:]...)
		}
	}
	return values
}

func write(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, container, path, content string) {
	ginkgo.GinkgoHelper()
	probe.Into(ctx, f, pod, container, &probe.File{}, "file", "write", path, content)
}

// contentOf is what a `file read` result read, or "" when it could not.
func contentOf(r probe.Result) string {
	ginkgo.GinkgoHelper()
	var out probe.File
	if r.OK() {
		r.Decode(&out)
	}
	return out.Content
}

// read returns a file's content, or "" when it cannot be read (recorded as evidence).
func read(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, container, path string) string {
	ginkgo.GinkgoHelper()
	return contentOf(probe.Run(ctx, f, pod, container, "file", "read", path))
}
