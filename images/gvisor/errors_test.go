package gvisor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMapKillError(t *testing.T) {
	for _, out := range []string{
		"sandbox is not running\n",
		`cannot signal a process inside container "abc" in state stopped`,
		// After a failed start.
		`signaling container "abc": container "abc" not started`,
	} {
		got, ok := MapKillError(out)
		if !ok || !strings.HasPrefix(got, "container not running: ") {
			t.Errorf("MapKillError(%q) = %q, %v", out, got, ok)
		}
	}
	// Errors that mean something else pass unchanged (the shim maps "does not exist" itself).
	for _, out := range []string{"loading container: file does not exist", "unknown signal \"FOO\""} {
		if got, ok := MapKillError(out); ok || got != out {
			t.Errorf("MapKillError(%q) = %q, %v; want it unchanged", out, got, ok)
		}
	}
}

func TestIgnorableDeleteError(t *testing.T) {
	if !IgnorableDeleteError(`destroying container: failed to delete filestore file "/v/.gvisor.filestore.abc": remove /v/.gvisor.filestore.abc: no such file or directory`) {
		t.Error("a missing filestore file must not fail delete")
	}
	for _, out := range []string{
		"cannot delete container that is not stopped without --force flag",
		`failed to delete filestore file "/v/x": permission denied`,
		"removing cgroup path: no such file or directory",
	} {
		if IgnorableDeleteError(out) {
			t.Errorf("IgnorableDeleteError(%q) = true", out)
		}
	}
}

func TestSignals(t *testing.T) {
	for sig, want := range map[string]int{"9": 9, "KILL": 9, "SIGKILL": 9, "15": 15, "sigterm": 15, "": 15, "1": 0, "HUP": 0, "10": 0} {
		if got := SignalNumber(sig); got != want {
			t.Errorf("SignalNumber(%q) = %d, want %d", sig, got, want)
		}
		if IsTerminating(sig) != (want != 0) {
			t.Errorf("IsTerminating(%q) = %v", sig, !(want != 0))
		}
	}
}

func TestLastLogError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "log.json")
	content := `{"msg":"starting","level":"info","time":"2026-01-01T00:00:00Z"}
{"msg":"first failure","level":"error","time":"2026-01-01T00:00:01Z"}
not json
{"msg":"starting container: boom","level":"error","time":"2026-01-01T00:00:02Z"}
{"msg":"later info","level":"info","time":"2026-01-01T00:00:03Z"}
`
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := LastLogError(file); got != "starting container: boom" {
		t.Errorf("LastLogError = %q", got)
	}
	if got := LastLogError(file + ".missing"); got != "" {
		t.Errorf("missing file: %q", got)
	}
}
