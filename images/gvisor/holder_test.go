package gvisor

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// The start request between the wrapper's start and the holder, over the
// holder's socket: a stray connection is ignored, the answer carries runsc
// start's status.
func TestStartProtocol(t *testing.T) {
	for _, tc := range []struct {
		reply    string
		wantCode int
		wantErr  bool
	}{
		{"ok", 0, false},
		{"fail 3", 3, false},
		{"fail x", 1, false},
		{"what", 0, true},
	} {
		dir := t.TempDir()
		ln, err := net.Listen("unix", filepath.Join(dir, holderSocket))
		if err != nil {
			t.Fatal(err)
		}
		stray, err := net.Dial("unix", filepath.Join(dir, holderSocket))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(stray, "hello")
		stray.Close()
		go func() {
			conn := awaitStart(ln)
			fmt.Fprintln(conn, tc.reply)
			conn.Close()
		}()
		code, err := requestStart(dir)
		if code != tc.wantCode || (err != nil) != tc.wantErr {
			t.Errorf("reply %q: code %d, err %v", tc.reply, code, err)
		}
		ln.Close()
	}
	if _, err := requestStart(t.TempDir()); err == nil {
		t.Error("no holder: no error")
	}
}

func TestLoadHolderIgnoresOtherProcesses(t *testing.T) {
	dir := t.TempDir()
	// This test process is alive but no holder: a recycled PID is never taken for one.
	if err := os.WriteFile(filepath.Join(dir, holderPID), []byte(fmt.Sprint(os.Getpid())), 0o600); err != nil {
		t.Fatal(err)
	}
	if h := loadHolder(dir, "abc"); h != nil {
		t.Errorf("loadHolder = %+v, want nil", h)
	}
	if isZombie(os.Getpid()) {
		t.Error("this process reported as a zombie")
	}
	if !isZombie(1 << 30) {
		t.Error("a missing process must count as gone")
	}
}

func TestSweepLocks(t *testing.T) {
	root := t.TempDir()
	touch := func(name string) {
		if err := os.WriteFile(filepath.Join(root, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	touch("app1_sandbox:sb.lock")   // deleted app container: goes
	touch("app2_sandbox:sb.lock")   // another app container of sb, still there: stays
	touch("app2_sandbox:sb.state")  //
	touch("app3_sandbox:sb.lock")   // deleted, swept with its sandbox: goes
	touch("other_sandbox:sb2.lock") // another pod: stays
	touch("null-netns")
	sweepLocks(root, "app1")
	sweepLocks(root, "sb")
	var left []string
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := []string{"app2_sandbox:sb.lock", "app2_sandbox:sb.state", "null-netns", "other_sandbox:sb2.lock"}
	if fmt.Sprint(left) != fmt.Sprint(want) {
		t.Errorf("left %q, want %q", left, want)
	}
}
