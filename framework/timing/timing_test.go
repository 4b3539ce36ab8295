package timing

import (
	"math"
	"testing"
	"time"
)

// A spec's phases sum to its total: spans count once (the inner one inside
// the outer), the uncovered time goes to setup, other and teardown.
func TestFinishAccountsForEverySecond(t *testing.T) {
	t0 := time.Now().Add(-10 * time.Second)
	r := &recorder{start: t0, bodyStart: t0.Add(2 * time.Second), bodyEnd: t0.Add(9 * time.Second)}
	r.spans = []Span{
		{Phase: PodStart, What: "start pair", At: 1, Seconds: 3}, // 1s in setup, 2s in the body
		{Phase: Exec, What: "a: podprobe ns", At: 5, Seconds: 0.5},
		{Phase: Wait, What: "pod pair restarted", At: 6, Seconds: 2},
		{Phase: Exec, What: "a: podprobe sysv-msg remove 1", At: 9.5, Seconds: 0.25},
	}
	s := r.finish(t0.Add(10 * time.Second))
	want := map[Phase]float64{Setup: 1, PodStart: 3, Exec: 0.75, Wait: 2, Other: 2.5, Teardown: 0.75}
	sum := 0.0
	for _, p := range Phases {
		if math.Abs(s.Seconds[p]-want[p]) > 0.002 {
			t.Errorf("%s: %.3fs, want %.3fs", p, s.Seconds[p], want[p])
		}
		sum += s.Seconds[p]
	}
	if math.Abs(sum-s.Total) > 0.01 || math.Abs(s.Total-10) > 0.01 {
		t.Errorf("phases sum to %.3fs, total %.3fs, want both 10s", sum, s.Total)
	}
	if s.Count[Exec] != 2 || s.Count[PodStart] != 1 {
		t.Errorf("counts %v", s.Count)
	}
	if got := s.Slowest(1, Exec, Wait); len(got) != 1 || got[0].What != "pod pair restarted" {
		t.Errorf("slowest: %+v", got)
	}
}

// Only the outermost span counts; marks of inner spans go to it.
func TestNestedSpansCountOnce(t *testing.T) {
	r := &recorder{start: time.Now()}
	mu.Lock()
	current = r
	mu.Unlock()
	defer func() { mu.Lock(); current = nil; mu.Unlock() }()

	endOuter := Start(PodStart, "start pair")
	endInner := StartMarked(PodStart, "await pair Ready")
	endWait := Start(Wait, "pod pair Ready")
	endWait()
	endInner(map[string]time.Time{"pair ready": time.Now()})
	endOuter()
	Start(Exec, "a: podprobe ns")()

	if len(r.spans) != 2 || r.spans[0].What != "start pair" || r.spans[1].Phase != Exec {
		t.Fatalf("spans %+v, want the outer pod start and the exec", r.spans)
	}
	if _, ok := r.spans[0].Marks["pair ready"]; !ok {
		t.Errorf("the inner span's mark did not reach the outer one: %+v", r.spans[0])
	}
}

// No spec in progress (a dry run, a helper outside a spec): spans are no-ops.
func TestNoSpecNoSpan(t *testing.T) {
	Start(Exec, "x")()
	StartMarked(PodStart, "y")(nil)
	Body(func() {})
}
