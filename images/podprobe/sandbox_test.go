package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestSandboxUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"sandbox", "find", "not-a-uid", "abcdef012345"},
		{"sandbox", "kill", "89b233ad-5dd8-47b2-bf07-4ec9097eea25", "containerd://xyz"},
		{"sandbox", "hold", "1", "0"},
		{"sandbox", "cgroup", "not-a-uid"},
	} {
		if out := run(t, args...); out.code != 2 {
			t.Errorf("podprobe %v: exit %d, want 2", args, out.code)
		}
	}
}

func TestSandboxFindsNoSandboxOfAnUnknownPod(t *testing.T) {
	got := mustFail(t, "ESRCH", "sandbox", "find", "00000000-0000-4000-8000-000000000000", "containerd://abcdef0123456789")
	wantField(t, got, "candidates", []any{})
	wantField(t, got, "containers", []any{})
}

// TestSandboxHoldListensInTheNamespace holds the test's own network
// namespace (entering it needs CAP_SYS_ADMIN, as in the privileged helper).
func TestSandboxHoldListensInTheNamespace(t *testing.T) {
	port := freePort(t, "tcp")
	out := run(t, "sandbox", "hold", strconv.Itoa(os.Getpid()), port, "--for", "20s")
	if out.code == 1 && out.obj["errno"] == "EPERM" {
		t.Skip("entering a network namespace needs CAP_SYS_ADMIN")
	}
	if out.code != 0 {
		t.Fatalf("sandbox hold: %s", out.stdout)
	}
	holder, _ := strconv.Atoi(fmt.Sprint(out.obj["holder_pid"]))
	t.Cleanup(func() { syscall.Kill(holder, syscall.SIGKILL) })
	own, _ := os.Readlink("/proc/self/ns/net")
	wantField(t, out.obj, "netns", own)
	dialed := mustSucceed(t, "dial", "tcp", "127.0.0.1:"+port, "--payload", "held")
	server := dialed["server"].(map[string]any)
	wantField(t, server, "netns", own)
	wantField(t, server, "pid", holder)
	if !strings.HasSuffix(fmt.Sprint(out.obj["listening"]), ":"+port) {
		t.Fatalf("listening %v", out.obj)
	}
	wantField(t, mustSucceed(t, "signal", strconv.Itoa(holder), "SIGTERM"), "delivered", true)
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if out := run(t, "dial", "tcp", "127.0.0.1:"+port, "--timeout", "300ms"); out.obj["result"] == "refused" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the holder still answers 3s after SIGTERM")
		}
	}
}
