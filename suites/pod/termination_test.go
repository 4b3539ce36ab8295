package pod

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	e2eframework "k8s.io/kubernetes/test/e2e/framework"
	admissionapi "k8s.io/pod-security-admission/api"

	"github.com/podsem/podsem/framework/pods"
	"github.com/podsem/podsem/framework/probe"
	"github.com/podsem/podsem/framework/spec"
	"github.com/podsem/podsem/framework/timing"
)

const (
	// sbx-term-observer's collector: its port and its record file.
	collectorPort   = "7070"
	collectorRecord = "/tmp/reports.jsonl"
	// observerPlaceholder stands for the collector's address in sbx-term.
	observerPlaceholder = "OBSERVER:" + collectorPort
	// startReportTimeout bounds how long the dying pod's containers take to
	// report their start; they started before the pod was Ready.
	startReportTimeout = 30 * time.Second
	// goneMargin is how long after its grace period a deleted pod may take to
	// leave the API: the kubelet reports its containers stopped, then the API
	// server removes the object.
	goneMargin = 15 * time.Second
)

var _ = ginkgo.Describe("sandbox: termination", spec.Takes(17), func() {
	f := spec.Framework("sbx-term", admissionapi.LevelBaseline)

	spec.It("SBX-08", func(ctx context.Context) {
		// The dying pod is watched from outside: its containers report to an
		// observer pod, which records each report on arrival.
		observer := pods.StartFixture(ctx, f, "sbx-term-observer")
		observerIPs := pods.IPs(observer)
		gomega.Expect(observerIPs).NotTo(gomega.BeEmpty(), "the observer pod has an IP")
		collector := net.JoinHostPort(observerIPs[0], collectorPort)
		dying := pods.Load("sbx-term")
		reportTo(dying, collector)
		dying = pods.Start(ctx, f, dying)[0]
		grace := time.Duration(*dying.Spec.TerminationGracePeriodSeconds) * time.Second
		var apps, sidecars []string
		for _, c := range dying.Spec.Containers {
			apps = append(apps, c.Name)
		}
		for _, c := range dying.Spec.InitContainers {
			if c.RestartPolicy != nil && *c.RestartPolicy == v1.ContainerRestartPolicyAlways {
				sidecars = append(sidecars, c.Name)
			}
		}
		all := append(append([]string{}, apps...), sidecars...)

		// Control: every container reaches the observer, so a report missing
		// later is an event missing, not the network.
		func() {
			defer timing.Start(timing.Wait, "every container's start reported to the observer")()
			gomega.Eventually(ctx, func(ctx context.Context) []string {
				got := reportsOf(ctx, f, observer)
				var missing []string
				for _, c := range all {
					if len(got.Find("start "+c)) == 0 {
						missing = append(missing, c)
					}
				}
				return missing
			}).WithTimeout(startReportTimeout).WithPolling(500*time.Millisecond).Should(gomega.BeEmpty(),
				"every container of pod %s reports its start to the observer at %s", dying.Name, collector)
		}()

		// The delete is marked on the collector's clock, which the reports are
		// judged by: no clock of another machine comes in.
		var mark probe.Sent
		probe.Into(ctx, f, observer, "collector", &mark, "report", "send", "127.0.0.1:"+collectorPort, "delete "+dying.Name)
		gomega.Expect(mark.Record).NotTo(gomega.BeNil(), "the collector recorded the delete mark")
		deleted := time.Now()
		e2eframework.ExpectNoError(f.ClientSet.CoreV1().Pods(f.Namespace.Name).Delete(ctx, dying.Name, metav1.DeleteOptions{}), "deleting pod %s with its own grace period", dying.Name)
		goneErr := pods.WaitGone(ctx, f, dying.Name, grace+goneMargin)
		took := time.Since(deleted)

		reports := reportsOf(ctx, f, observer)
		timeline := timelineOf(reports, *mark.Record)
		ginkgo.AddReportEntry("reports to the observer (collector's clock, from the delete mark)", timeline, ginkgo.ReportEntryVisibilityFailureOrVerbose)
		gomega.Expect(goneErr).NotTo(gomega.HaveOccurred(), "pod %s is gone within its grace period (%s) and %s of the delete call; reports:\n%s", dying.Name, grace, goneMargin, timeline)
		ginkgo.AddReportEntry("pod "+dying.Name+" gone after", took.String(), ginkgo.ReportEntryVisibilityFailureOrVerbose)

		after := map[string]probe.Report{}
		for _, c := range all {
			for _, event := range []string{"prestop", "sigterm", "exit"} {
				after[event+" "+c] = onlyReportAfter(reports, *mark.Record, event+" "+c, timeline)
			}
		}
		for _, c := range all {
			prestop, sigterm, exit := after["prestop "+c], after["sigterm "+c], after["exit "+c]
			gomega.Expect(prestop.Seq).To(gomega.BeNumerically("<", sigterm.Seq),
				"container %s's preStop hook (%s) runs before its PID 1 receives SIGTERM (%s):\n%s", c, since(prestop, *mark.Record), since(sigterm, *mark.Record), timeline)
			gomega.Expect(exit.At().Sub(mark.Record.At())).To(gomega.BeNumerically("<=", grace),
				"container %s stops by itself (%s) within the grace period, %s from the delete:\n%s", c, since(exit, *mark.Record), grace, timeline)
		}
		for _, s := range sidecars {
			for _, app := range apps {
				gomega.Expect(after["exit "+app].Seq).To(gomega.BeNumerically("<", after["sigterm "+s].Seq),
					"the native sidecar %s receives SIGTERM (%s) only after app container %s has exited (%s):\n%s", s, since(after["sigterm "+s], *mark.Record), app, since(after["exit "+app], *mark.Record), timeline)
			}
		}
	})
})

// reportTo points every report of pod's containers (entrypoints and preStop
// hooks) at the collector's address, in place of observerPlaceholder.
func reportTo(pod *v1.Pod, collector string) {
	ginkgo.GinkgoHelper()
	point := func(cs []v1.Container) {
		for i := range cs {
			c := &cs[i]
			n := replaceIn(c.Args, collector)
			if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Exec != nil {
				n += replaceIn(c.Lifecycle.PreStop.Exec.Command, collector)
			}
			gomega.Expect(n).To(gomega.Equal(2), "container %s of fixture %s reports from its entrypoint and its preStop hook, both to %s", c.Name, pod.Name, observerPlaceholder)
		}
	}
	point(pod.Spec.InitContainers)
	point(pod.Spec.Containers)
}

func replaceIn(args []string, collector string) int {
	n := 0
	for i, a := range args {
		if a == observerPlaceholder {
			args[i] = collector
			n++
		}
	}
	return n
}

// reportsOf lists the observer's records.
func reportsOf(ctx context.Context, f *e2eframework.Framework, observer *v1.Pod) probe.Reports {
	ginkgo.GinkgoHelper()
	var out probe.Reports
	probe.Into(ctx, f, observer, "collector", &out, "report", "list", collectorRecord)
	return out
}

// onlyReportAfter is the one report of message after mark; none, or more
// than one, fails the spec.
func onlyReportAfter(reports probe.Reports, mark probe.Report, message, timeline string) probe.Report {
	ginkgo.GinkgoHelper()
	var found []probe.Report
	for _, r := range reports.Find(message) {
		if r.Seq > mark.Seq {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		e2eframework.Failf("want one %q report after the delete, got %d: the event did not happen, or did not happen once, while the pod terminated; reports:\n%s", message, len(found), timeline)
	}
	return found[0]
}

// timelineOf is the reports, one a line, with their time from the delete mark.
func timelineOf(reports probe.Reports, mark probe.Report) string {
	var lines []string
	for _, r := range reports.Records {
		lines = append(lines, fmt.Sprintf("  #%d %s %q from %s", r.Seq, since(r, mark), r.Message, r.From))
	}
	return strings.Join(lines, "\n")
}

// since is a report's time relative to the delete mark, e.g. "+1.503s".
func since(r, mark probe.Report) string {
	d := r.At().Sub(mark.At()).Round(time.Millisecond)
	if d < 0 {
		return d.String()
	}
	return "+" + d.String()
}
