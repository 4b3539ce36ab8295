package probe

import "time"

// The JSON objects of podprobe's sandbox and report subcommands, as the suite
// reads them.

// Sandbox is `podprobe sandbox find|kill`.
type Sandbox struct {
	PodUID     string           `json:"pod_uid"`
	Sandbox    *SandboxProcess  `json:"sandbox"`
	Containers []SandboxProcess `json:"containers"`
	Candidates []SandboxProcess `json:"candidates"`
	Killed     bool             `json:"killed"`
	Gone       bool             `json:"gone"`
}

// SandboxProcess is one process of a pod, as the node sees it.
type SandboxProcess struct {
	PID       int    `json:"pid"`
	PPID      int    `json:"ppid"`
	StartTime uint64 `json:"start_time"`
	Cmdline   string `json:"cmdline"`
	Cgroup    string `json:"cgroup"`
	Container string `json:"container"`
	NetNS     string `json:"netns"`
	PIDNS     string `json:"pidns"`
	NSpid     []int  `json:"nspid"`
}

// Hold is `podprobe sandbox hold`.
type Hold struct {
	HolderPID int    `json:"holder_pid"`
	PID       int    `json:"pid"`
	NetNS     string `json:"netns"`
	Listening string `json:"listening"`
}

// PodCgroup is `podprobe sandbox cgroup`: the pod's own cgroup on the node,
// Path relative to the node's cgroup root (v1: the memory hierarchy's).
type PodCgroup struct {
	PodUID string `json:"pod_uid"`
	Cgroup
	Candidates []string `json:"candidates"`
}

// Reports is `podprobe report list`.
type Reports struct {
	Records []Report `json:"records"`
}

// Report is one record of a `podprobe report collect` collector: a message,
// its place in the order of arrival and the collector's clock on arrival.
type Report struct {
	Seq      int    `json:"seq"`
	UnixNano int64  `json:"unix_nano"`
	Time     string `json:"time"`
	From     string `json:"from"`
	Message  string `json:"message"`
}

// At is the collector's clock when the report arrived.
func (r Report) At() time.Time { return time.Unix(0, r.UnixNano) }

// Find returns the reports whose message is message.
func (r Reports) Find(message string) []Report {
	var out []Report
	for _, x := range r.Records {
		if x.Message == message {
			out = append(out, x)
		}
	}
	return out
}

// Sent is `podprobe report send`.
type Sent struct {
	Sent   string  `json:"sent"`
	Record *Report `json:"record"`
}
