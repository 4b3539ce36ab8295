// Package timing says where each spec's time goes: namespace set-up, pod
// starts, probe execs, bounded waits, teardown. It is always on and costs a
// clock read per span; each spec ends with one report entry, EntryName, whose
// JSON (Spec) lands in the Ginkgo JSON report for bin/report bench to sum.
//
// Only top-level spans count: a wait inside a pod start is the pod start's.
// Time no span covers is setup (before the body: clients, the namespace,
// BeforeAll), other (in the body: assertions, API calls of the spec's own) or
// teardown (after the body: DeferCleanup, AfterEach, the namespace's delete).
package timing

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2"
)

// EntryName names the report entry every spec ends with.
const EntryName = "podsem timing"

// Phase is a kind of span.
type Phase string

const (
	PodStart Phase = "pod start"  // create pods, await them Ready (or refused)
	Exec     Phase = "probe exec" // one podprobe run in a container
	Wait     Phase = "wait"       // a bounded wait on a pod or on probes, outside pod starts
	Setup    Phase = "setup"      // before the body, not in a span
	Other    Phase = "other"      // in the body, not in a span
	Teardown Phase = "teardown"   // after the body, not in a span
)

// Phases in the order reports show them.
var Phases = []Phase{Setup, PodStart, Exec, Wait, Other, Teardown}

// Span is one top-level span of a spec: its phase, what it was, when it began
// (seconds from the spec's start) and how long it took.
type Span struct {
	Phase   Phase   `json:"phase"`
	What    string  `json:"what"`
	At      float64 `json:"at"`
	Seconds float64 `json:"seconds"`
	// Marks are points within a pod start, seconds from the span's start:
	// "scheduled", "running" (every container), "ready".
	Marks map[string]float64 `json:"marks,omitempty"`
}

// Spec is a spec's account: seconds per phase (summing to Total), how many
// spans each phase had, and every span.
type Spec struct {
	Total   float64           `json:"total"`
	Seconds map[Phase]float64 `json:"seconds"`
	Count   map[Phase]int     `json:"count"`
	Spans   []Span            `json:"spans"`
}

// String is the entry's one-line representation in reports.
func (s Spec) String() string {
	parts := []string{fmt.Sprintf("%.1fs:", s.Total)}
	for _, p := range Phases {
		if v := s.Seconds[p]; v >= 0.05 || s.Count[p] > 0 {
			n := ""
			if c := s.Count[p]; c > 0 {
				n = fmt.Sprintf(" ×%d", c)
			}
			parts = append(parts, fmt.Sprintf("%s %.1fs%s", p, v, n))
		}
	}
	return strings.Join(parts, " ")
}

// Slowest is the n longest spans of phases, longest first.
func (s Spec) Slowest(n int, phases ...Phase) []Span {
	var out []Span
	for _, sp := range s.Spans {
		for _, p := range phases {
			if sp.Phase == p {
				out = append(out, sp)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Seconds > out[j].Seconds })
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// recorder is the spec in progress on this process: Ginkgo runs one spec at a
// time per process; the mutex keeps a helper's goroutine safe.
type recorder struct {
	key       string
	mu        sync.Mutex
	start     time.Time
	bodyStart time.Time
	bodyEnd   time.Time
	depth     int
	spans     []Span
	// marks given by spans inside a top-level one, for it to take.
	marks map[string]time.Time
}

var (
	mu      sync.Mutex
	current *recorder
)

// Begin starts the account of the spec about to run, unless it has begun.
// SharedFramework calls it in its BeforeAll, which runs before any
// BeforeEach of the container, so that the first spec's account holds the
// shared namespace and pods.
func Begin() {
	key := specKey()
	mu.Lock()
	defer mu.Unlock()
	if current == nil || current.key != key {
		current = &recorder{key: key, start: time.Now()}
	}
}

// Track begins the spec's account (if Begin has not) and registers, as a
// cleanup, the report entry that ends it. Register it as a BeforeEach before
// any other of the container, so that its cleanup runs after theirs.
// (Not a top-level BeforeEach: the e2e framework's PreviewSpecs, in
// AfterReadingAllFlags, leaves the suite without its top-level setup nodes.)
func Track() {
	Begin()
	r := active()
	ginkgo.DeferCleanup(func() {
		s := r.finish(time.Now())
		mu.Lock()
		if current == r {
			current = nil
		}
		mu.Unlock()
		ginkgo.AddReportEntry(EntryName, s, ginkgo.ReportEntryVisibilityNever)
	})
}

// specKey tells the running spec from the one before it.
func specKey() string {
	r := ginkgo.CurrentSpecReport()
	return fmt.Sprintf("%s %s %s", r.LeafNodeLocation, r.LeafNodeText, r.StartTime)
}

// Body wraps a spec's body, marking where setup ends and teardown begins.
func Body(body func()) {
	r := active()
	if r != nil {
		r.mu.Lock()
		r.bodyStart = time.Now()
		r.mu.Unlock()
		defer func() {
			r.mu.Lock()
			r.bodyEnd = time.Now()
			r.mu.Unlock()
		}()
	}
	body()
}

func active() *recorder {
	mu.Lock()
	defer mu.Unlock()
	return current
}

// Start begins a span; the function it returns ends it. A span begun inside
// another is the outer one's time, not counted again.
//
//	defer timing.Start(timing.Exec, "a: podprobe ns")()
func Start(phase Phase, what string) func() {
	end := StartMarked(phase, what)
	return func() { end(nil) }
}

// StartMarked is Start for a span with marks (a pod start's milestones),
// given when it ends. The marks of a span inside another go to the
// top-level one, as offsets from its start.
func StartMarked(phase Phase, what string) func(marks map[string]time.Time) {
	r := active()
	if r == nil {
		return func(map[string]time.Time) {}
	}
	begin := time.Now()
	r.mu.Lock()
	r.depth++
	top := r.depth == 1
	r.mu.Unlock()
	return func(marks map[string]time.Time) {
		end := time.Now()
		r.mu.Lock()
		defer r.mu.Unlock()
		r.depth--
		for name, t := range marks {
			if r.marks == nil {
				r.marks = map[string]time.Time{}
			}
			r.marks[name] = t
		}
		if !top {
			return
		}
		sp := Span{Phase: phase, What: what, At: round(begin.Sub(r.start)), Seconds: round(end.Sub(begin))}
		for name, t := range r.marks {
			if sp.Marks == nil {
				sp.Marks = map[string]float64{}
			}
			sp.Marks[name] = round(t.Sub(begin))
		}
		r.marks = nil
		r.spans = append(r.spans, sp)
	}
}

// finish sums the spans and the uncovered time of each window.
func (r *recorder) finish(end time.Time) Spec {
	r.mu.Lock()
	defer r.mu.Unlock()
	bodyStart, bodyEnd := r.bodyStart, r.bodyEnd
	if bodyStart.IsZero() { // setup failed or skipped: no body ran
		bodyStart, bodyEnd = end, end
	}
	if bodyEnd.IsZero() {
		bodyEnd = end
	}
	windows := []struct {
		phase    Phase
		from, to float64
	}{
		{Setup, 0, bodyStart.Sub(r.start).Seconds()},
		{Other, bodyStart.Sub(r.start).Seconds(), bodyEnd.Sub(r.start).Seconds()},
		{Teardown, bodyEnd.Sub(r.start).Seconds(), end.Sub(r.start).Seconds()},
	}
	s := Spec{Total: round(end.Sub(r.start)), Seconds: map[Phase]float64{}, Count: map[Phase]int{}, Spans: r.spans}
	for _, w := range windows {
		uncovered := w.to - w.from
		for _, sp := range r.spans {
			uncovered -= overlap(sp.At, sp.At+sp.Seconds, w.from, w.to)
		}
		s.Seconds[w.phase] = roundF(max(uncovered, 0))
	}
	for _, sp := range r.spans {
		s.Seconds[sp.Phase] = roundF(s.Seconds[sp.Phase] + sp.Seconds)
		s.Count[sp.Phase]++
	}
	return s
}

func overlap(a0, a1, b0, b1 float64) float64 {
	return max(0, min(a1, b1)-max(a0, b0))
}

func round(d time.Duration) float64 { return roundF(d.Seconds()) }

func roundF(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }
