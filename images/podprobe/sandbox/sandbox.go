// Package sandbox implements `podprobe sandbox`, for a privileged pod in the
// node's PID namespace (hostPID) acting on another pod of that node: find the
// pod's sandbox process, hold its network namespace, kill it, read the pod's
// own cgroup.
//
// The sandbox process is found by the pod's cgroup, never by a process name
// (runtimes name it pause, or otherwise): it is the process whose cgroup names
// the pod's UID (as the cgroupfs driver spells it, with dashes, or as the
// systemd driver does, with underscores), whose cgroup names none of the
// pod's containers, and which is the init (PID 1) of a PID namespace of its
// own. Every cgroup driver and cgroup version puts a container's ID in its
// cgroup path, and a cgroup namespace only shortens the path, so the rule
// holds for cgroupfs and systemd, cgroup v1 and v2.
package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/podsem/podsem/images/podprobe/internal/background"
	"github.com/podsem/podsem/images/podprobe/internal/cli"
	"github.com/podsem/podsem/images/podprobe/ps"
	"golang.org/x/sys/unix"
)

var Command = &cli.Command{
	Name: "sandbox",
	Modes: []*cli.Command{
		{Name: "find", Args: []string{"POD-UID", "CONTAINER-IDS"}, Run: find,
			Summary: "find the pod's sandbox process by its cgroup (CONTAINER-IDS: the pod's container IDs, comma-separated, runtime:// prefixes allowed) → {\"pod_uid\",\"sandbox\",\"containers\",\"candidates\"}; ESRCH unless exactly one"},
		{Name: "kill", Args: []string{"POD-UID", "CONTAINER-IDS"}, Run: kill,
			Summary: "find the sandbox process as find does and SIGKILL it → find's object with \"killed\" and \"gone\""},
		{Name: "hold", Args: []string{"PID", "PORT"}, Run: hold,
			Summary: "start, in the background, a holder that keeps PID's network namespace alive with an echo server on 127.0.0.1:PORT in it (dial's protocol) → {\"holder_pid\",\"pid\",\"netns\",\"listening\"}",
			Flags:   []cli.Flag{{Name: "for", Kind: cli.DurationFlag, Default: "3m", Value: "DURATION", Usage: "how long the holder lives at most (SIGTERM ends it earlier)"}}},
		{Name: "cgroup", Args: []string{"POD-UID"}, Run: podCgroup,
			Summary: "the pod's own cgroup, found by its UID in the node's cgroup tree (either driver, v1 or v2), and its limits → {\"pod_uid\",\"root\",\"version\",\"path\",\"dir\",\"memory_limit_bytes\",\"cpu_quota_us\",\"cpu_period_us\",\"candidates\"}; ESRCH unless exactly one",
			Flags:   []cli.Flag{{Name: "root", Kind: cli.StringFlag, Default: nodeCgroupRoot, Value: "DIR", Usage: "the node's cgroup mount"}}},
	},
}

// Process is one process of the pod, as the node sees it.
type Process struct {
	PID       int    `json:"pid"`
	PPID      int    `json:"ppid"`
	StartTime uint64 `json:"start_time"`
	Cmdline   string `json:"cmdline"`
	// Cgroup is the line of /proc/PID/cgroup that names the pod.
	Cgroup string `json:"cgroup"`
	// Container is the ID of the pod's container whose cgroup this is, if any.
	Container string `json:"container,omitempty"`
	NetNS     string `json:"netns"`
	PIDNS     string `json:"pidns"`
	// NSpid is the process' PID in each PID namespace, the node's first.
	NSpid []int `json:"nspid"`
}

// InitOfOwnPIDNamespace says whether the kernel numbers the process 1 in a
// PID namespace below the node's.
func (p Process) InitOfOwnPIDNamespace() bool {
	return len(p.NSpid) > 1 && p.NSpid[len(p.NSpid)-1] == 1
}

// Result is the JSON object of find and kill.
type Result struct {
	PodUID string `json:"pod_uid"`
	// Sandbox is the sandbox process, when exactly one process fits the rule.
	Sandbox *Process `json:"sandbox,omitempty"`
	// Containers are the pod's container processes: for each container, its
	// first process (the entrypoint).
	Containers []Process `json:"containers"`
	// Candidates are the pod's processes outside every container's cgroup.
	Candidates []Process `json:"candidates"`
	Killed     bool      `json:"killed,omitempty"`
	// Gone: the killed process is no longer running (exited, or a zombie).
	Gone bool `json:"gone,omitempty"`
}

var (
	podUIDPattern      = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	containerIDPattern = regexp.MustCompile(`^[0-9a-fA-F]{12,}$`)
)

// killWait bounds how long kill waits for the killed process to stop running.
const killWait = 5 * time.Second

func find(inv *cli.Invocation) (any, error) {
	uid, ids, err := parseTarget(inv)
	if err != nil {
		return nil, err
	}
	return locate(uid, ids)
}

func kill(inv *cli.Invocation) (any, error) {
	uid, ids, err := parseTarget(inv)
	if err != nil {
		return nil, err
	}
	res, err := locate(uid, ids)
	if err != nil {
		return res, err
	}
	// The start time tells the process found from a new one that reused its PID.
	if st, err := ps.ReadStat(res.Sandbox.PID); err != nil || st.StartTime != res.Sandbox.StartTime {
		return res, cli.Fail("ESRCH", fmt.Errorf("sandbox process %d ended before it could be killed", res.Sandbox.PID))
	}
	if err := unix.Kill(res.Sandbox.PID, unix.SIGKILL); err != nil {
		return res, err
	}
	res.Killed = true
	for deadline := time.Now().Add(killWait); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		st, err := ps.ReadStat(res.Sandbox.PID)
		if errors.Is(err, fs.ErrNotExist) || st.StartTime != res.Sandbox.StartTime || st.State == "Z" || st.State == "X" {
			res.Gone = true
			break
		}
	}
	return res, nil
}

func parseTarget(inv *cli.Invocation) (string, []string, error) {
	uid := strings.ToLower(inv.Args[0])
	if !podUIDPattern.MatchString(uid) {
		return "", nil, cli.Usagef("sandbox: POD-UID must be a pod's UID (8-4-4-4-12 hex), got %q", inv.Args[0])
	}
	var ids []string
	for _, id := range strings.Split(inv.Args[1], ",") {
		if _, bare, ok := strings.Cut(id, "://"); ok {
			id = bare // containerd://ID, cri-o://ID
		}
		if !containerIDPattern.MatchString(id) {
			return "", nil, cli.Usagef("sandbox: CONTAINER-IDS must be container IDs (hex), comma-separated, got %q", inv.Args[1])
		}
		ids = append(ids, strings.ToLower(id))
	}
	return uid, ids, nil
}

// locate scans /proc for the pod's processes and picks the sandbox process.
func locate(uid string, containerIDs []string) (*Result, error) {
	res := &Result{PodUID: uid, Containers: []Process{}, Candidates: []Process{}}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return res, err
	}
	// The kubelet's two spellings of the pod UID in cgroup paths.
	spellings := []string{uid, strings.ReplaceAll(uid, "-", "_")}
	byContainer := map[string][]Process{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		p, ok := podProcess(pid, spellings)
		if !ok {
			continue
		}
		p.Container = containerOf(p.Cgroup, containerIDs)
		if p.Container == "" {
			res.Candidates = append(res.Candidates, p)
		} else {
			byContainer[p.Container] = append(byContainer[p.Container], p)
		}
	}
	for _, id := range containerIDs {
		if procs := byContainer[id]; len(procs) > 0 {
			res.Containers = append(res.Containers, entrypoint(procs))
		}
	}
	var sandboxes []Process
	for _, p := range res.Candidates {
		if p.InitOfOwnPIDNamespace() {
			sandboxes = append(sandboxes, p)
		}
	}
	switch len(sandboxes) {
	case 1:
		res.Sandbox = &sandboxes[0]
		return res, nil
	case 0:
		return res, cli.Fail("ESRCH", fmt.Errorf("no process of pod %s outside its containers' cgroups is the init of a PID namespace of its own (%d candidate(s), %d container process(es) seen)",
			uid, len(res.Candidates), len(res.Containers)))
	default:
		return res, cli.Fail("ESRCH", fmt.Errorf("%d processes of pod %s fit the sandbox's description; want exactly one", len(sandboxes), uid))
	}
}

// podProcess reads pid's cgroup, and the rest of what Process holds when the
// cgroup names the pod. A process that ends while it is read is left out.
func podProcess(pid int, spellings []string) (Process, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return Process{}, false
	}
	line := podLine(string(data), spellings)
	if line == "" {
		return Process{}, false
	}
	st, err := ps.ReadStat(pid)
	if err != nil {
		return Process{}, false
	}
	p := Process{PID: pid, PPID: st.PPID, StartTime: st.StartTime, Cgroup: line}
	if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil {
		p.Cmdline = strings.TrimSpace(strings.ReplaceAll(strings.TrimRight(string(cmdline), "\x00"), "\x00", " "))
	}
	p.NetNS, _ = os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
	p.PIDNS, _ = os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
	p.NSpid = readNSpid(pid)
	return p, true
}

// podLine is the first line of a /proc/PID/cgroup file that names the pod
// in one of its spellings, or "".
func podLine(cgroupFile string, spellings []string) string {
	for _, line := range strings.Split(cgroupFile, "\n") {
		for _, s := range spellings {
			if strings.Contains(strings.ToLower(line), s) {
				return line
			}
		}
	}
	return ""
}

// containerOf is the ID, among ids, of the container whose cgroup line this
// is, or "": cgroupfs names the cgroup after the ID, systemd's scope holds it
// (cri-containerd-ID.scope, crio-ID.scope).
func containerOf(line string, ids []string) string {
	for _, id := range ids {
		if strings.Contains(strings.ToLower(line), id) {
			return id
		}
	}
	return ""
}

// readNSpid reads the NSpid line of /proc/PID/status.
func readNSpid(pid int) []int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		rest, ok := strings.CutPrefix(scanner.Text(), "NSpid:")
		if !ok {
			continue
		}
		var pids []int
		for _, field := range strings.Fields(rest) {
			if n, err := strconv.Atoi(field); err == nil {
				pids = append(pids, n)
			}
		}
		return pids
	}
	return nil
}

// entrypoint is a container's first process: its init where it has a PID
// namespace of its own, else the earliest started (exec'd processes come later).
func entrypoint(procs []Process) Process {
	sort.Slice(procs, func(i, j int) bool {
		if a, b := procs[i].InitOfOwnPIDNamespace(), procs[j].InitOfOwnPIDNamespace(); a != b {
			return a
		}
		return procs[i].StartTime < procs[j].StartTime
	})
	return procs[0]
}

// HoldResult is the JSON object of hold, and the holder's first line.
type HoldResult struct {
	HolderPID int    `json:"holder_pid"`
	PID       int    `json:"pid"`
	NetNS     string `json:"netns"`
	Listening string `json:"listening"`
}

// hold starts HolderCommand in the background (the exec session that runs
// hold must not wait for the holder) and returns what it reports.
func hold(inv *cli.Invocation) (any, error) {
	pid, err := cli.ParsePID(inv.Args[0])
	if err != nil {
		return nil, err
	}
	port, err := cli.ParsePort(inv.Args[1])
	if err != nil || port == 0 {
		return nil, cli.Usagef("sandbox hold: PORT must be 1-65535, got %q", inv.Args[1])
	}
	var held HoldResult
	err = background.Start(&held, HolderCommand.Name, strconv.Itoa(pid), strconv.Itoa(port), "--for", inv.String("for"))
	return held, err
}
