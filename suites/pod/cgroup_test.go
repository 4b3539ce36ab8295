package pod

import (
	"context"
	"fmt"
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

var _ = ginkgo.Describe("cgroup: memory limit", func() {
	f := spec.Framework("cg-oom", admissionapi.LevelBaseline)

	spec.It("CG-01", func(ctx context.Context) {
		// Both running, then a takes more than its limit, while b runs.
		pod := pods.Start(ctx, f, pods.Load("cg-oom"))[0]
		probe.Run(ctx, f, pod, "b", "cgroup") // evidence: b's own limit
		// The spec judges only what follows its trigger: the container a that
		// receives it is the one running now. A terminated state counts only if
		// it is that container's: an earlier failed start of a (a StartError the
		// kubelet retried before the pod became Ready) is not the outcome.
		triggered := containerStatus(pod, "a").ContainerID
		write(ctx, f, pod, "a", oomTrigger, "go")
		// Never Ready again (a keeps being killed): wait on the container statuses.
		// The kernel's OOM killer ends a with SIGKILL (exit 137), which the
		// runtime reports as reason OOMKilled, or, when containerd on cgroup v1
		// loses the OOM event because the container's cgroup is already gone,
		// as Error: the kill is the semantic, the reason is recorded. Nothing
		// else in the pod sends a SIGKILL.
		var killed *v1.ContainerStateTerminated
		p, err := pods.WaitFor(ctx, f, pod.Name, oomTimeout, "container a killed by SIGKILL (exit 137, OOMKilled)", func(p *v1.Pod) (bool, error) {
			a := containerStatus(p, "a")
			for _, t := range []*v1.ContainerStateTerminated{a.State.Terminated, a.LastTerminationState.Terminated} {
				switch {
				case t == nil || t.ContainerID != triggered:
				case t.Reason == oomKilled || t.ExitCode == sigkillExit:
					killed = t
					return true, nil
				default:
					return false, fmt.Errorf("container a (%s) ended (%s, exit %d) after the trigger, not killed: %s", triggered, t.Reason, t.ExitCode, pods.States(p))
				}
			}
			return false, nil
		})
		e2eframework.ExpectNoError(err)
		ginkgo.AddReportEntry("container a OOM-killed", fmt.Sprintf("%+v; %s", *killed, pods.States(p)), ginkgo.ReportEntryVisibilityFailureOrVerbose)

		b, before := containerStatus(p, "b"), containerStatus(pod, "b")
		gomega.Expect(b.RestartCount).To(gomega.Equal(before.RestartCount), "container b is not restarted after the trigger: %s", pods.States(p))
		gomega.Expect(b.State.Running).NotTo(gomega.BeNil(), "container b keeps running: %s", pods.States(p))
		gomega.Expect(b.ContainerID).To(gomega.Equal(before.ContainerID), "container b is the very container that ran before: %s", pods.States(p))
		// Behaviour: b's process is alive and answers.
		probe.Into(ctx, f, p, "b", &probe.NS{}, "ns")
	})
})

var _ = ginkgo.Describe("cgroup: limits", func() {
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

// containerStatus is the status of the named app container, or nil.
func containerStatus(p *v1.Pod, name string) *v1.ContainerStatus {
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == name {
			return &p.Status.ContainerStatuses[i]
		}
	}
	return nil
}
