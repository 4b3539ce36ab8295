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
