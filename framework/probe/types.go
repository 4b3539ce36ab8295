package probe

import (
	"strconv"
	"strings"

	"github.com/onsi/ginkgo/v2"
	e2eframework "k8s.io/kubernetes/test/e2e/framework"
)

// The JSON objects podprobe prints (images/podprobe), as the suite reads them.

// NS is `podprobe ns`.
type NS struct {
	Namespaces map[string]string `json:"namespaces"`
	Hostname   string            `json:"hostname"`
	Domainname string            `json:"domainname"`
	PID        int               `json:"pid"`
	PPID       int               `json:"ppid"`
	UIDMap     string            `json:"uid_map"`
	GIDMap     string            `json:"gid_map"`
}

// Namespace is the link of namespace kind ("net:[4026531840]"). A link that
// could not be read fails the spec: two unreadable links compare equal and
// would prove nothing.
func (n NS) Namespace(kind string) string {
	ginkgo.GinkgoHelper()
	link := n.Namespaces[kind]
	if link == "" {
		e2eframework.Failf("podprobe could not read the %s namespace link (/proc/self/ns/%s): %v", kind, kind, n.Namespaces)
	}
	return link
}

// HostID maps id through a uid_map or gid_map ("inside outside count" lines)
// to the id outside the namespace; false when no line covers it.
func HostID(idMap string, id uint64) (uint64, bool) {
	for _, line := range strings.Split(idMap, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		inside, err1 := strconv.ParseUint(f[0], 10, 64)
		outside, err2 := strconv.ParseUint(f[1], 10, 64)
		count, err3 := strconv.ParseUint(f[2], 10, 64)
		if err1 == nil && err2 == nil && err3 == nil && id >= inside && id-inside < count {
			return outside + (id - inside), true
		}
	}
	return 0, false
}

// Dial is `podprobe dial`.
type Dial struct {
	Proto  string `json:"proto"`
	Addr   string `json:"addr"`
	Result string `json:"result"`
	Sent   string `json:"sent"`
	Local  string `json:"local"`
	Echo   string `json:"echo"`
	Server struct {
		Hostname string `json:"hostname"`
		PID      int    `json:"pid"`
		NetNS    string `json:"netns"`
	} `json:"server"`
	Error string `json:"error"`
	Errno string `json:"errno"`
}

// Bind is `podprobe bind`.
type Bind struct {
	Proto string `json:"proto"`
	Addr  string `json:"addr"`
	Bound bool   `json:"bound"`
	Errno string `json:"errno"`
}

// Addrs is `podprobe addrs`.
type Addrs struct {
	Interfaces []Interface `json:"interfaces"`
}

// Interface is one network interface in Addrs.
type Interface struct {
	Name     string   `json:"name"`
	Index    int      `json:"index"`
	Up       bool     `json:"up"`
	Loopback bool     `json:"loopback"`
	MAC      string   `json:"mac"`
	Addrs    []string `json:"addrs"`
}

// IPC is the output of the sysv-msg, sysv-shm and posix-mq subcommands.
type IPC struct {
	Key      int64  `json:"key"`
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Sent     string `json:"sent"`
	Received string `json:"received"`
	Written  string `json:"written"`
	Read     string `json:"read"`
	// HolderPID is the process that keeps a segment attached (sysv-shm write --hold).
	HolderPID int    `json:"holder_pid"`
	Errno     string `json:"errno"`
}

// File is the output of `podprobe file read|write|stat`.
type File struct {
	Path    string `json:"path"`
	Content string `json:"content"`
	Written string `json:"written"`
	Exists  bool   `json:"exists"`
	Size    int64  `json:"size"`
	Inode   uint64 `json:"inode"`
	Dev     uint64 `json:"dev"`
	UID     *int64 `json:"uid"`
	GID     *int64 `json:"gid"`
	Errno   string `json:"errno"`
}

// FSType is `podprobe fs-type`.
type FSType struct {
	Path  string `json:"path"`
	Type  string `json:"type"`
	Magic string `json:"magic"`
}

// Mounts is `podprobe mounts`.
type Mounts struct {
	Mounts []Mount `json:"mounts"`
}

// Mount is one entry of Mounts.
type Mount struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	FSType   string `json:"fstype"`
	Options  string `json:"options"`
	ReadOnly bool   `json:"readonly"`
}

// At returns the mount at target, if any (the last one, which is what is visible).
func (m Mounts) At(target string) (Mount, bool) {
	var found Mount
	ok := false
	for _, x := range m.Mounts {
		if x.Target == target {
			found, ok = x, true
		}
	}
	return found, ok
}

// Hostname is `podprobe hostname get|set`.
type Hostname struct {
	Hostname   string `json:"hostname"`
	Domainname string `json:"domainname"`
}

// PS is `podprobe ps`.
type PS struct {
	Processes []Process `json:"processes"`
}

// Process is one entry of PS.
type Process struct {
	PID     int    `json:"pid"`
	PPID    int    `json:"ppid"`
	State   string `json:"state"`
	Comm    string `json:"comm"`
	Cmdline string `json:"cmdline"`
}

// PID returns the process with the given pid.
func (p PS) PID(pid int) (Process, bool) {
	for _, x := range p.Processes {
		if x.PID == pid {
			return x, true
		}
	}
	return Process{}, false
}

// Matching returns the processes whose command line contains s.
func (p PS) Matching(s string) []Process {
	var out []Process
	for _, x := range p.Processes {
		if strings.Contains(x.Cmdline, s) {
			out = append(out, x)
		}
	}
	return out
}

// Ancestry follows pid's parents as far as the list shows them: pid, its parent,
// ..., ending at a process whose parent is 0 or not in the list.
func (p PS) Ancestry(pid int) []Process {
	var chain []Process
	for len(chain) <= len(p.Processes) {
		x, ok := p.PID(pid)
		if !ok {
			break
		}
		chain = append(chain, x)
		pid = x.PPID
	}
	return chain
}

// Signal is `podprobe signal`.
type Signal struct {
	PID       int    `json:"pid"`
	Signal    string `json:"signal"`
	Delivered bool   `json:"delivered"`
	Exited    bool   `json:"exited"`
}

// SignalRecord is the --record file of `podprobe wait-signal`, and the output
// of `wait-signal --detach`.
type SignalRecord struct {
	PID     int      `json:"pid"`
	Ready   bool     `json:"ready"`
	Signals []string `json:"signals"`
}

// RootRead is `podprobe root-read`.
type RootRead struct {
	PID     int     `json:"pid"`
	Path    string  `json:"path"`
	Content *string `json:"content"`
}

// Environ is `podprobe environ`.
type Environ struct {
	PID     int      `json:"pid"`
	Environ []string `json:"environ"`
}

// Orphan is `podprobe orphan`.
type Orphan struct {
	OrphanPID    int    `json:"orphan_pid"`
	ReparentedTo int    `json:"reparented_to"`
	ZombieSeen   bool   `json:"zombie_seen"`
	Reaped       bool   `json:"reaped"`
	FinalState   string `json:"final_state"`
	ObserverPID  int    `json:"observer_pid"`
}

// Cgroup is `podprobe cgroup`; nil limits are unlimited.
type Cgroup struct {
	Version          int    `json:"version"`
	Path             string `json:"path"`
	Dir              string `json:"dir"`
	DirInode         uint64 `json:"dir_inode"`
	MemoryLimitBytes *int64 `json:"memory_limit_bytes"`
	CPUQuotaUs       *int64 `json:"cpu_quota_us"`
	CPUPeriodUs      *int64 `json:"cpu_period_us"`
}

// Resolve is `podprobe resolve`'s answer.
type Resolve struct {
	Name     string   `json:"name"`
	Addrs    []string `json:"addrs"`
	NotFound bool     `json:"not_found"`
}
