package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// records lists a collector's records as "seq message" strings.
func records(t *testing.T, path string) []string {
	t.Helper()
	list, _ := mustSucceed(t, "report", "list", path)["records"].([]any)
	var out []string
	for _, r := range list {
		r := r.(map[string]any)
		out = append(out, fmt.Sprintf("%v %v", r["seq"], r["message"]))
	}
	return out
}

func TestReportCollectsInOrderOfArrival(t *testing.T) {
	port, path := freePort(t, "tcp"), filepath.Join(t.TempDir(), "records.jsonl")
	collector := start(t, "report", "collect", port, "--record", path)
	wantField(t, collector.firstLine(t), "record", path)
	addr := "127.0.0.1:" + port

	got := mustSucceed(t, "report", "send", addr, "prestop a")
	rec := got["record"].(map[string]any)
	wantField(t, rec, "seq", 1)
	wantField(t, rec, "message", "prestop a")
	if n, _ := strconv.ParseInt(fmt.Sprint(rec["unix_nano"]), 10, 64); time.Since(time.Unix(0, n)).Abs() > time.Minute {
		t.Fatalf("record time %v is not now", rec)
	}
	began := time.Now()
	mustSucceed(t, "report", "send", addr, "prestop b", "--linger", "300ms")
	if took := time.Since(began); took < 300*time.Millisecond {
		t.Fatalf("send --linger 300ms returned after %v", took)
	}
	if got := fmt.Sprint(records(t, path)); got != "[1 prestop a 2 prestop b]" {
		t.Fatalf("records %s", got)
	}
	collector.stop(t)

	// No collector: the send fails, within its timeout.
	began = time.Now()
	mustFail(t, "ETIMEDOUT", "report", "send", addr, "lost", "--timeout", "500ms")
	if took := time.Since(began); took > 3*time.Second {
		t.Fatalf("send --timeout 500ms took %v", took)
	}
}

func TestReportOnTermReportsStartSignalAndExit(t *testing.T) {
	port, path := freePort(t, "tcp"), filepath.Join(t.TempDir(), "records.jsonl")
	collector := start(t, "report", "collect", port, "--record", path)
	collector.firstLine(t)
	entry := podprobe("report", "on-term", "127.0.0.1:"+port, "app", "--linger", "300ms")
	if err := entry.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { entry.Process.Kill(); entry.Wait() })
	for deadline := time.Now().Add(3 * time.Second); fmt.Sprint(records(t, path)) != "[1 start app]"; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("records %v, want the start report", records(t, path))
		}
	}
	entry.Process.Signal(syscall.SIGTERM)
	began := time.Now()
	if err := entry.Wait(); err != nil {
		t.Fatalf("on-term after SIGTERM: %v", err)
	}
	if took := time.Since(began); took < 300*time.Millisecond || took > 3*time.Second {
		t.Fatalf("on-term --linger 300ms exited %v after SIGTERM", took)
	}
	if got := fmt.Sprint(records(t, path)); got != "[1 start app 2 sigterm app 3 exit app]" {
		t.Fatalf("records %s", got)
	}
}

func TestReportUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"report", "collect", "7070"},
		{"report", "send", "nohost", "x"},
		{"report", "send", "127.0.0.1:0", "x"},
		{"report", "on-term", "127.0.0.1:7070", "two words"},
	} {
		if out := run(t, args...); out.code != 2 {
			t.Errorf("podprobe %v: exit %d, want 2", args, out.code)
		}
	}
}
