package main

import "strings"

// sample is one fast catalogue ID per area: the kit's checks and the sonobuoy
// run prove packaging and wiring, not the semantics again (make e2e did that),
// so they run these unless asked for the full catalogue (FULL=1). Each is a
// few seconds under runc: no restarts, OOM kills, sandbox kills or deletions.
var sample = []string{
	"NET-01",  // network: TCP over 127.0.0.1
	"IPC-01",  // ipc: a SysV message queue
	"UTS-01",  // uts: one hostname
	"FS-02",   // filesystem: a shared emptyDir
	"PID-01",  // pid: private PID namespaces
	"SBX-04",  // sandbox: a native sidecar in the pod's namespaces (two containers; SBX-03 starts five one after the other)
	"CG-02",   // cgroup: per-container limits
	"HOST-01", // host: hostNetwork (Optional)
	"USER-01", // userns: hostUsers: false (Optional)
}

func sampleFocus() string { return strings.Join(sample, ",") }
