package pod

import (
	"context"
	"fmt"
	"maps"
	"slices"
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
	// oomTimeout bounds the wait for cg-oom's container a to be OOM-killed,
	// which happens as soon as it allocates; a runtime without per-container
	// limits never kills it.
	oomTimeout = 20 * time.Second
	// oomTrigger is the file cg-oom's container a waits for before it allocates.
	oomTrigger = "/tmp/oom-now"
	// oomKilled is the reason the kubelet gives a container the kernel's OOM
	// killer ended.
	oomKilled = "OOMKilled"
	// sigkillExit is the exit code of a container ended by SIGKILL.
	sigkillExit = 128 + 9
)

var _ = ginkgo.Describe("cgroup: memory limit", spec.Takes(7), func() {
	f := spec.Framework("cg-oom", admissionapi.LevelBaseline)

	spec.It("CG-01", func(ctx context.Context) {
		// Both running, then a takes more than its limit, while b runs.
		pod := pods.Start(ctx, f, pods.Load("cg-oom"))[0]
		probe.Run(ctx, f, pod, "b", "cgroup") // evidence: b's own limit
		// The spec judges only what follows its trigger: the container a that
		// receives it is the one running now. A terminated state counts only if
		// it is that container's: an earlier failed start of a (a StartError the
		// kubelet retried before the pod became Ready) is not the outcome.
		triggered := map[string]string{"a": containerStatus(pod, "a").ContainerID}
		write(ctx, f, pod, "a", oomTrigger, "go")
		_, _, p := awaitSIGKILL(ctx, f, pod, triggered)

		b, before := containerStatus(p, "b"), containerStatus(pod, "b")
		gomega.Expect(b.RestartCount).To(gomega.Equal(before.RestartCount), "container b is not restarted after the trigger: %s", pods.States(p))
		gomega.Expect(b.State.Running).NotTo(gomega.BeNil(), "container b keeps running: %s", pods.States(p))
		gomega.Expect(b.ContainerID).To(gomega.Equal(before.ContainerID), "container b is the very container that ran before: %s", pods.States(p))
		// Behaviour: b's process is alive and answers.
		probe.Into(ctx, f, p, "b", &probe.NS{}, "ns")
	})
})

var _ = ginkgo.Describe("cgroup: limits", spec.Takes(7), func() {
	f := spec.Framework("cg-limits", admissionapi.LevelBaseline)

	spec.It("CG-02", func(ctx context.Context) {
		// The fixture gives a and b different limits, so each reading its own
		// from the cgroup it is in proves two cgroups by what they enforce. The
		// cgroup paths are evidence only: with a private cgroup namespace per
		// container (containerd's default on cgroup v2, Docker's) every
		// container reads "/". The inode of the cgroup directory is the
		// cgroup's identity whatever the namespace shows.
		pod := pods.Start(ctx, f, pods.Load("cg-limits"))[0]
		gomega.Expect(pod.Spec.Containers[0].Resources.Limits.Memory().Cmp(*pod.Spec.Containers[1].Resources.Limits.Memory())).NotTo(gomega.BeZero(),
			"the fixture gives its containers different memory limits")
		inodes := map[uint64]string{}
		for _, c := range pod.Spec.Containers {
			var cg probe.Cgroup
			probe.Into(ctx, f, pod, c.Name, &cg, "cgroup")
			memory, cpu := c.Resources.Limits.Memory().Value(), c.Resources.Limits.Cpu().MilliValue()
			gomega.Expect(cg.MemoryLimitBytes).To(gomega.HaveValue(gomega.Equal(memory)),
				"container %s's cgroup (v%d, %s) limits memory to its own limit, %d bytes", c.Name, cg.Version, cg.Path, memory)
			gomega.Expect(cg.CPUQuotaUs).NotTo(gomega.BeNil(), "container %s's cgroup has a CPU quota", c.Name)
			gomega.Expect(cg.CPUPeriodUs).To(gomega.HaveValue(gomega.BeNumerically(">", 0)), "container %s's cgroup has a CPU period", c.Name)
			gomega.Expect(*cg.CPUQuotaUs*1000 / *cg.CPUPeriodUs).To(gomega.Equal(cpu),
				"container %s's CPU quota/period (%d/%d) is its own limit, %dm", c.Name, *cg.CPUQuotaUs, *cg.CPUPeriodUs, cpu)
			gomega.Expect(cg.DirInode).NotTo(gomega.BeZero(), "container %s's cgroup directory %s has an inode", c.Name, cg.Dir)
			gomega.Expect(inodes).NotTo(gomega.HaveKey(cg.DirInode), "container %s's cgroup directory (inode %d) is not another container's", c.Name, cg.DirInode)
			inodes[cg.DirInode] = c.Name
		}
	})
})

var _ = ginkgo.Describe("cgroup: pod-level resources", spec.Takes(13), func() {
	// The node helper, which reads the pod's cgroup on the node, is
	// privileged and in the node's PID namespace.
	f := spec.Framework("cg-pod", admissionapi.LevelPrivileged)

	spec.It("CG-03", func(ctx context.Context) {
		// The helper first, so that the pod starts on its node beside it.
		helper := createNodeHelper(ctx, f, "to read the pod's cgroup")
		helper, err := pods.WaitFor(ctx, f, helper.Name, pods.ReadyTimeout, "scheduled to a node", func(p *v1.Pod) (bool, error) { return p.Spec.NodeName != "", nil })
		e2eframework.ExpectNoError(err)
		subject := pods.Load("cg-pod")
		pods.OnNodeOf(helper)(subject)
		pod, skip := pods.StartOptional(ctx, f, subject)
		if skip != "" {
			spec.NotOffered(skip)
		}
		// An API server without the feature drops spec.resources: the pod
		// runs, without a pod-level limit.
		if pod.Spec.Resources == nil || pod.Spec.Resources.Limits.Memory().IsZero() {
			spec.NotOffered("the API server dropped spec.resources (pod-level resources; feature gate PodLevelResources not enabled)")
		}
		helper, err = pods.WaitReady(ctx, f, helper.Name, pods.ReadyTimeout)
		e2eframework.ExpectNoError(err)

		// The pod's cgroup, the parent of its containers', carries the pod's limits.
		memory, cpu := pod.Spec.Resources.Limits.Memory().Value(), pod.Spec.Resources.Limits.Cpu().MilliValue()
		var cg probe.PodCgroup
		probe.Into(ctx, f, helper, "helper", &cg, "sandbox", "cgroup", string(pod.UID))
		gomega.Expect(cg.MemoryLimitBytes).To(gomega.HaveValue(gomega.Equal(memory)),
			"the pod's cgroup (v%d, %s) limits memory to the pod's limit, %d bytes", cg.Version, cg.Path, memory)
		gomega.Expect(cg.CPUQuotaUs).NotTo(gomega.BeNil(), "the pod's cgroup has a CPU quota")
		gomega.Expect(cg.CPUPeriodUs).To(gomega.HaveValue(gomega.BeNumerically(">", 0)), "the pod's cgroup has a CPU period")
		gomega.Expect(*cg.CPUQuotaUs*1000 / *cg.CPUPeriodUs).To(gomega.Equal(cpu),
			"the pod's CPU quota/period (%d/%d) is the pod's limit, %dm", *cg.CPUQuotaUs, *cg.CPUPeriodUs, cpu)
		for _, c := range pod.Spec.Containers {
			probe.Run(ctx, f, pod, c.Name, "cgroup") // evidence: each container's own cgroup
		}

		// c, the only one to allocate, goes past its own limit and far from
		// the pod's: its own limit kills it.
		own := pod.Spec.Containers[2]
		gomega.Expect(own.Resources.Limits.Memory().Cmp(*pod.Spec.Resources.Limits.Memory())).To(gomega.BeNumerically("<", 0), "the fixture gives container c a limit of its own, below the pod's")
		write(ctx, f, pod, "c", cgPodTrigger("c"), "go")
		_, _, p := awaitSIGKILL(ctx, f, pod, map[string]string{"c": containerStatus(pod, "c").ContainerID})

		// a and b, without limits of their own, each take 80 MiB: each under
		// the pod's 128 MiB, together past it. Both cannot hold it.
		for _, c := range pod.Spec.Containers[:2] {
			gomega.Expect(c.Resources.Limits.Memory().IsZero()).To(gomega.BeTrue(), "the fixture gives container %s no memory limit of its own", c.Name)
		}
		triggered := map[string]string{}
		for _, name := range []string{"a", "b"} {
			s := containerStatus(p, name)
			gomega.Expect(s.State.Running).NotTo(gomega.BeNil(), "container %s runs before its trigger: %s", name, pods.States(p))
			triggered[name] = s.ContainerID
		}
		for _, name := range []string{"a", "b"} {
			write(ctx, f, p, name, cgPodTrigger(name), "go")
		}
		awaitSIGKILL(ctx, f, p, triggered)
	})
})

// cgPodTrigger is the file cg-pod's container name waits for before it allocates.
func cgPodTrigger(name string) string { return "/tmp/oom-" + name }

// awaitSIGKILL waits, bounded by oomTimeout, until one of the triggered
// containers (name → the ID of the container that received the trigger) is
// ended by SIGKILL, and returns its name, its end and the pod then. Only
// what follows the trigger counts: a terminated state is judged only if it
// is that container's (an earlier failed start the kubelet retried is not
// the outcome). The kernel's OOM killer ends a container with SIGKILL (exit
// 137), which the runtime reports as reason OOMKilled, or, when containerd
// on cgroup v1 loses the OOM event (the container's cgroup already gone, or
// the limit hit in the pod's cgroup above it), as Error: the kill is the
// semantic, the reason is recorded. Nothing else in the pod sends a SIGKILL;
// a triggered container that ends otherwise fails the spec.
func awaitSIGKILL(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, triggered map[string]string) (string, *v1.ContainerStateTerminated, *v1.Pod) {
	ginkgo.GinkgoHelper()
	names := slices.Sorted(maps.Keys(triggered))
	var killedName string
	var killed *v1.ContainerStateTerminated
	// Never Ready again (the container keeps being killed): wait on the container statuses.
	p, err := pods.WaitFor(ctx, f, pod.Name, oomTimeout, fmt.Sprintf("container %s killed by SIGKILL (exit 137, OOMKilled) after the trigger", strings.Join(names, " or ")), func(p *v1.Pod) (bool, error) {
		for _, name := range names {
			s := containerStatus(p, name)
			for _, t := range []*v1.ContainerStateTerminated{s.State.Terminated, s.LastTerminationState.Terminated} {
				switch {
				case t == nil || t.ContainerID != triggered[name]:
				case t.Reason == oomKilled || t.ExitCode == sigkillExit:
					killedName, killed = name, t
					return true, nil
				default:
					return false, fmt.Errorf("container %s (%s) ended (%s, exit %d) after the trigger, not killed: %s", name, triggered[name], t.Reason, t.ExitCode, pods.States(p))
				}
			}
		}
		return false, nil
	})
	e2eframework.ExpectNoError(err)
	ginkgo.AddReportEntry("container "+killedName+" OOM-killed", fmt.Sprintf("%+v; %s", *killed, pods.States(p)), ginkgo.ReportEntryVisibilityFailureOrVerbose)
	return killedName, killed, p
}

// containerStatus is the status of the named app container, or nil.
func containerStatus(p *v1.Pod, name string) *v1.ContainerStatus {
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == name {
			return &p.Status.ContainerStatuses[i]
		}
	}
	return nil
}
