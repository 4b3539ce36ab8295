package main

import (
	"slices"
	"testing"
)

// The command lines containerd's runc shim (go-runc) passes.
func TestParse(t *testing.T) {
	root := []string{"--root", "/run/containerd/runc/k8s.io", "--log", "/run/x/log.json", "--log-format", "json"}
	create := parse(append(slices.Clone(root), "create", "--bundle", "/run/b", "--pid-file", "/run/b/init.pid", "id1"))
	if create.cmd != "create" || create.bundle != "/run/b" || create.container != "id1" || !slices.Equal(create.global, root) {
		t.Errorf("create: %+v", create)
	}
	execCall := parse(append(slices.Clone(root), "exec", "--process", "/tmp/runc-process1", "--detach", "--pid-file", "/run/p.pid", "id1"))
	if execCall.cmd != "exec" || execCall.process != "/tmp/runc-process1" || execCall.container != "id1" || !slices.Equal(execCall.global, root) {
		t.Errorf("exec: %+v", execCall)
	}
	if got := parse([]string{"--systemd-cgroup", "run", "--bundle=/b", "id"}); got.cmd != "run" || got.bundle != "/b" {
		t.Errorf("run: %+v", got)
	}
}

// go-runc's kill: `runc [global] kill [--all] ID SIGNAL`, the signal as a number.
func TestKillArgs(t *testing.T) {
	root := []string{"--root", "/run/containerd/runc/k8s.io", "--log", "/run/x/log.json", "--log-format", "json"}
	for _, tc := range []struct {
		args       []string
		id, signal string
	}{
		{append(slices.Clone(root), "kill", "id1", "15"), "id1", "15"},
		{append(slices.Clone(root), "kill", "--all", "id1", "9"), "id1", "9"},
		{[]string{"kill", "id1"}, "id1", ""},
	} {
		if id, signal := killArgs(tc.args); id != tc.id || signal != tc.signal {
			t.Errorf("killArgs(%v) = %q, %q; want %q, %q", tc.args, id, signal, tc.id, tc.signal)
		}
	}
}
