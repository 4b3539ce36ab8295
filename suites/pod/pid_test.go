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

	"github.com/podsem/podsem/framework/config"
	"github.com/podsem/podsem/framework/pods"
	"github.com/podsem/podsem/framework/probe"
	"github.com/podsem/podsem/framework/spec"
	"github.com/podsem/podsem/framework/timing"
)

const (
	// entrypoint is the command line of a container running the fixtures' default
	// `podprobe sleep`.
	entrypoint = "/podprobe sleep"
	// sharedRecord is where pid-shared's container a records the signals it gets.
	sharedRecord = "/shared/a-signals.json"
	// signalWait bounds how long a delivered signal may take to show in a record.
	signalWait = 5 * time.Second
	// orphanWait bounds how long `podprobe orphan` watches for the reaping.
	orphanWait = "5s"
	// pidRetries bounds the attempts at a PID that, by chance, numbers one of
	// the signalling container's own processes too (see PID-01).
	pidRetries = 3
	// usersRecord is the file pid-users' container a writes at start in its own
	// root filesystem; usersArg, on a's command line, tells its process apart
	// (a's startup probe names the file too, not the flag).
	usersRecord = "/tmp/a-ns.json"
	usersArg    = "--ns-out " + usersRecord
	// usersMarker is in pid-users' container a's environment.
	usersMarker = "PODSEM_PID07_MARKER=pid07-marker-of-a"
)

var _ = ginkgo.Describe("pid: private", spec.Takes(10), func() {
	f := spec.Framework("pid", admissionapi.LevelBaseline)

	spec.It("PID-01", func(ctx context.Context) {
		pod := pods.Start(ctx, f, pods.Load("pair"))[0]
		// Container b gets a long-lived process besides its PID 1, a signal target
		// whose record says what reached it; its PID is one only b can mean.
		record := "/tmp/" + spec.Token("pid01") + ".json"
		target := detachTarget(ctx, f, pod, "b", record)

		// Positive control: ps in b lists b's target.
		inB := ps(ctx, f, pod, "b")
		gomega.Expect(inB.Matching(record)).To(gomega.HaveLen(1), "ps in container b lists b's own process %d: %v", target.PID, inB.Processes)

		inA := ps(ctx, f, pod, "a")
		gomega.Expect(inA.Matching(record)).To(gomega.BeEmpty(), "container a must not see container b's process: %v", inA.Processes)
		gomega.Expect(pid1(inA).Cmdline).To(gomega.Equal(entrypoint),
			"PID 1 in container a is a's own entrypoint, not the sandbox's process or another container's: %v", inA.Processes)
		for _, p := range inA.Processes {
			gomega.Expect(p.Cmdline).To(gomega.BeElementOf(entrypoint, probe.Binary+" ps"),
				"container a sees only its own processes (its entrypoint and this ps), not %+v", p)
		}
		gomega.Expect(pid1(inB).Cmdline).To(gomega.Equal(entrypoint), "and in container b, b's entrypoint is PID 1: %v", inB.Processes)

		// a cannot signal b's process: its PID names nothing, or one of a's own
		// processes, in a's namespace. Which one, only b's record can tell: a
		// signal delivered by a that b did not record hit a process of a's own,
		// by a coincidence of numbering, so try again with another target.
		for attempt := 1; ; attempt++ {
			r := probe.Run(ctx, f, pod, "a", "signal", strconv.Itoa(target.PID), "SIGUSR1")
			if !r.OK() {
				gomega.Expect(r.Errno).To(gomega.Equal("ESRCH"), "container a signalling b's PID %d: %s", target.PID, r.Describe())
				break
			}
			gomega.Expect(readRecord(ctx, f, pod, "b", record).Signals).To(gomega.BeEmpty(),
				"container a signalled container b's process %d: %s", target.PID, r.Describe())
			if attempt == pidRetries {
				e2eframework.Failf("container a could signal PID %d, b's process's number in b, %d times in a row, yet b received nothing", target.PID, attempt)
			}
			record = "/tmp/" + spec.Token("pid01") + ".json"
			target = detachTarget(ctx, f, pod, "b", record)
		}
		// Positive control: the same signal sent from b itself is received, and it
		// is the only one b's process ever got.
		var sent probe.Signal
		probe.Into(ctx, f, pod, "b", &sent, "signal", strconv.Itoa(target.PID), "SIGUSR2")
		awaitSignals(ctx, f, pod, "b", record, []string{"SIGUSR2"})

		a, b := nsOf(ctx, f, pod, "a"), nsOf(ctx, f, pod, "b")
		gomega.Expect(a.Namespace("pid")).NotTo(gomega.Equal(b.Namespace("pid")), "containers a and b have PID namespaces of their own")
	})
})

var _ = ginkgo.Describe("pid: shared", spec.Takes(13), ginkgo.Ordered, ginkgo.ContinueOnFailure, func() {
	f := spec.SharedFramework("pid-shared", admissionapi.LevelBaseline)
	var pod *v1.Pod

	ginkgo.BeforeAll(func(ctx context.Context) {
		var skip string
		if pod, skip = pods.StartOptional(ctx, f, pods.Load("pid-shared")); skip != "" {
			spec.NotOffered(skip)
		}
	})

	spec.It("PID-02", func(ctx context.Context) {
		self := readRecord(ctx, f, pod, "a", sharedRecord) // a's entrypoint says its own PID
		views := map[string]probe.PS{"a": ps(ctx, f, pod, "a"), "b": ps(ctx, f, pod, "b")}
		for c, view := range views {
			init := pid1(view)
			gomega.Expect(init.Cmdline).NotTo(gomega.HavePrefix(probe.Binary),
				"PID 1 seen from container %s is the sandbox's process, no container's entrypoint: %+v", c, init)
			gomega.Expect(init.PPID).To(gomega.Equal(0), "PID 1 seen from container %s is its namespace's init: %+v", c, init)
			gomega.Expect(processIDs(view.Matching("wait-signal"))).To(gomega.Equal([]int{self.PID}),
				"container %s sees container a's entrypoint, under the PID a has for itself: %v", c, view.Processes)
			gomega.Expect(processIDs(exactly(view, entrypoint))).To(gomega.HaveLen(1), "container %s sees container b's entrypoint: %v", c, view.Processes)
		}
		gomega.Expect(exactly(views["a"], entrypoint)[0].PID).To(gomega.Equal(exactly(views["b"], entrypoint)[0].PID), "under one PID in both")
		gomega.Expect(pid1(views["a"]).Cmdline).To(gomega.Equal(pid1(views["b"]).Cmdline), "and PID 1 is the same process in both")
		a, b := nsOf(ctx, f, pod, "a"), nsOf(ctx, f, pod, "b")
		gomega.Expect(b.Namespace("pid")).To(gomega.Equal(a.Namespace("pid")), "one PID namespace")
	})

	spec.It("PID-03", func(ctx context.Context) {
		before := readRecord(ctx, f, pod, "a", sharedRecord)
		targets := ps(ctx, f, pod, "b").Matching("wait-signal")
		gomega.Expect(targets).To(gomega.HaveLen(1), "container b finds container a's entrypoint with ps")
		gomega.Expect(targets[0].PID).To(gomega.Equal(before.PID), "the process b found is a's entrypoint, by the PID it records for itself")
		var sent probe.Signal
		r := probe.Run(ctx, f, pod, "b", "signal", strconv.Itoa(targets[0].PID), "SIGUSR1")
		gomega.Expect(r.OK()).To(gomega.BeTrue(), "container b signals container a's process: %s", r.Describe())
		r.Decode(&sent)
		gomega.Expect(sent.Delivered).To(gomega.BeTrue())
		awaitSignals(ctx, f, pod, "a", sharedRecord, append(before.Signals, "SIGUSR1"))
	})

	spec.It("PID-04", func(ctx context.Context) {
		path, payload := "/tmp/"+spec.Token("pid04"), spec.Token("pid04-data")
		inA := probe.Batch(ctx, f, pod, "a", []string{"file", "write", path, payload}, []string{"file", "read", sharedRecord})
		inA[0].DecodeOK(&probe.File{})
		var self probe.SignalRecord
		decodeFile(inA[1], &self)
		var rr probe.RootRead
		// The stat is evidence: the file is not in b's own root filesystem.
		inB := probe.Batch(ctx, f, pod, "b", []string{"root-read", strconv.Itoa(self.PID), path}, []string{"file", "stat", path})
		r := inB[0]
		gomega.Expect(r.OK()).To(gomega.BeTrue(), "container b reads %s through /proc/%d/root, container a's root: %s", path, self.PID, r.Describe())
		r.Decode(&rr)
		gomega.Expect(rr.Content).To(gomega.HaveValue(gomega.Equal(payload)), "and gets what container a wrote in its own root filesystem")
	})

	spec.It("PID-05", func(ctx context.Context) {
		var o probe.Orphan
		probe.Into(ctx, f, pod, "b", &o, "orphan", "--wait", orphanWait)
		gomega.Expect(o.ReparentedTo).To(gomega.Equal(1), "the orphan is re-parented to PID 1: %+v", o)
		gomega.Expect(o.Reaped).To(gomega.BeTrue(), "PID 1 reaps the orphan within %s; it is left as a zombie (state %s): %+v", orphanWait, o.FinalState, o)
		// PID 1 is the sandbox's process, not a container's podprobe (which would
		// reap too): the reaping is the sandbox's.
		view := ps(ctx, f, pod, "b")
		gomega.Expect(pid1(view).Cmdline).NotTo(gomega.HavePrefix(probe.Binary), "PID 1 is the sandbox's process: %+v", pid1(view))
		// Orphans are PID 1's children; exec'd processes have a parent outside the
		// namespace (ppid 0), which reaps them in its own time.
		for _, p := range view.Processes {
			if p.PPID == 1 {
				gomega.Expect(p.State).NotTo(gomega.Equal("Z"), "no orphan is left a zombie under PID 1: %+v", p)
			}
		}
	})
})

var _ = ginkgo.Describe("pid: users", spec.Takes(6), func() {
	f := spec.Framework("pid-users", admissionapi.LevelBaseline)

	spec.It("PID-07", func(ctx context.Context) {
		pod, skip := pods.StartOptional(ctx, f, pods.Load("pid-users"))
		if skip != "" {
			spec.NotOffered(skip)
		}
		// a (uid 1000) records its own PID; b (uid 2000) finds that process.
		var own probe.File
		probe.Into(ctx, f, pod, "a", &own, "file", "read", usersRecord)
		var self probe.NS
		if err := json.Unmarshal([]byte(own.Content), &self); err != nil {
			e2eframework.Failf("%s in container a: %v: %q", usersRecord, err, own.Content)
		}
		gomega.Expect(processIDs(ps(ctx, f, pod, "b").Matching(usersArg))).To(gomega.Equal([]int{self.PID}),
			"container b sees container a's entrypoint, under the PID a has for itself")
		pid := strconv.Itoa(self.PID)

		looks := [][]string{{"environ", pid}, {"root-read", pid, usersRecord}}
		for _, r := range probe.Batch(ctx, f, pod, "b", looks...) {
			gomega.Expect(r.OK()).To(gomega.BeFalse(), "container b (uid 2000) must not inspect container a's process (uid 1000): %s", r.Describe())
			gomega.Expect(r.Errno).To(gomega.Equal("EACCES"), "the kernel refuses another user: %s", r.Describe())
		}

		// Positive control: c, of a's uid and gid, reads both; b was refused for its uid.
		inC := probe.Batch(ctx, f, pod, "c", looks...)
		var env probe.Environ
		r := inC[0]
		gomega.Expect(r.OK()).To(gomega.BeTrue(), "container c (uid 1000, as a) reads /proc/%s/environ of container a's process: %s", pid, r.Describe())
		r.Decode(&env)
		gomega.Expect(env.Environ).To(gomega.ContainElement(usersMarker), "and finds the marker of container a's environment")
		var rr probe.RootRead
		r = inC[1]
		gomega.Expect(r.OK()).To(gomega.BeTrue(), "container c reads %s through /proc/%s/root, container a's root: %s", usersRecord, pid, r.Describe())
		r.Decode(&rr)
		gomega.Expect(rr.Content).To(gomega.HaveValue(gomega.Equal(own.Content)), "and gets the file container a wrote in its own root filesystem")
	})
})

var _ = ginkgo.Describe("pid: ephemeral container", spec.Takes(11), func() {
	f := spec.Framework("pid-eph", admissionapi.LevelBaseline)

	spec.It("PID-06", func(ctx context.Context) {
		pod := pods.Start(ctx, f, pods.Load("pair"))[0]
		path, payload := "/tmp/"+spec.Token("pid06"), spec.Token("pid06-data")
		write(ctx, f, pod, "a", path, payload)
		// b gets a process the debug container, which targets a, must not see.
		record := "/tmp/" + spec.Token("pid06") + ".json"
		detachTarget(ctx, f, pod, "b", record)

		debug := v1.EphemeralContainer{
			EphemeralContainerCommon: v1.EphemeralContainerCommon{
				Name: "debug", Image: config.Current.Image, ImagePullPolicy: config.Current.PullPolicy, Args: []string{"sleep"},
			},
			TargetContainerName: "a",
		}
		pod, debugName, skip := pods.AddEphemeralOptional(ctx, f, pod, debug)
		if skip != "" {
			spec.NotOffered(skip)
		}

		view := ps(ctx, f, pod, debugName)
		gomega.Expect(pid1(view).Cmdline).To(gomega.Equal(entrypoint), "PID 1 seen from the debug container is an entrypoint, its target's: %v", view.Processes)
		var rr probe.RootRead
		inDebug := probe.Batch(ctx, f, pod, debugName, []string{"root-read", "1", path}, []string{"ns"})
		r := inDebug[0]
		gomega.Expect(r.OK()).To(gomega.BeTrue(), "the debug container reads %s through /proc/1/root, which is container a's root: %s", path, r.Describe())
		r.Decode(&rr)
		gomega.Expect(rr.Content).To(gomega.HaveValue(gomega.Equal(payload)), "and gets what container a wrote there: PID 1 is a's entrypoint")
		gomega.Expect(view.Matching(record)).To(gomega.BeEmpty(), "the debug container must not see container b's process: %v", view.Processes)
		// Positive control: b's process is there, for b.
		gomega.Expect(ps(ctx, f, pod, "b").Matching(record)).To(gomega.HaveLen(1), "container b sees its own process")

		d, a, b := nsIn(inDebug[1]), nsOf(ctx, f, pod, "a"), nsOf(ctx, f, pod, "b")
		gomega.Expect(d.Namespace("pid")).To(gomega.Equal(a.Namespace("pid")), "the debug container is in container a's PID namespace")
		gomega.Expect(d.Namespace("pid")).NotTo(gomega.Equal(b.Namespace("pid")), "not in container b's")
	})
})

// ps lists the processes container sees.
func ps(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, container string) probe.PS {
	ginkgo.GinkgoHelper()
	var out probe.PS
	probe.Into(ctx, f, pod, container, &out, "ps")
	return out
}

// pid1 is PID 1 of a ps listing; a listing without one fails the spec.
func pid1(view probe.PS) probe.Process {
	ginkgo.GinkgoHelper()
	p, ok := view.PID(1)
	if !ok {
		e2eframework.Failf("no PID 1 in %v", view.Processes)
	}
	return p
}

// exactly lists the processes whose command line is cmdline.
func exactly(view probe.PS, cmdline string) []probe.Process {
	var out []probe.Process
	for _, p := range view.Processes {
		if p.Cmdline == cmdline {
			out = append(out, p)
		}
	}
	return out
}

func processIDs(list []probe.Process) []int {
	ids := []int{}
	for _, p := range list {
		ids = append(ids, p.PID)
	}
	return ids
}

func nsOf(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, container string) probe.NS {
	ginkgo.GinkgoHelper()
	return nsIn(probe.Run(ctx, f, pod, container, "ns"))
}

// nsIn is a successful `ns` result of a batch.
func nsIn(r probe.Result) probe.NS {
	ginkgo.GinkgoHelper()
	var out probe.NS
	r.DecodeOK(&out)
	return out
}

// detachTarget starts a background `wait-signal` in container, recording at path.
func detachTarget(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, container, path string) probe.SignalRecord {
	ginkgo.GinkgoHelper()
	var rec probe.SignalRecord
	probe.Into(ctx, f, pod, container, &rec, "wait-signal", "--record", path, "--detach")
	gomega.Expect(rec.PID).To(gomega.BeNumerically(">", 1), "the detached target is not container %s's PID 1", container)
	return rec
}

// readRecord reads and decodes a wait-signal record in container.
func readRecord(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, container, path string) probe.SignalRecord {
	ginkgo.GinkgoHelper()
	var rec probe.SignalRecord
	readJSON(ctx, f, pod, container, path, &rec)
	return rec
}

// awaitSignals waits, bounded, until the record at path in container lists want.
func awaitSignals(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, container, path string, want []string) {
	ginkgo.GinkgoHelper()
	defer timing.Start(timing.Wait, "signals "+strings.Join(want, ",")+" recorded in "+container)()
	gomega.Eventually(ctx, func(ctx context.Context) []string {
		return readRecord(ctx, f, pod, container, path).Signals
	}).WithTimeout(signalWait).WithPolling(200*time.Millisecond).Should(gomega.Equal(want),
		"the signal target's record in container %s (%s) lists the signals it received", container, path)
}
