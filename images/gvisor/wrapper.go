// Package gvisor is the compatibility wrapper that runs gVisor's runsc behind
// containerd's runc shim (io.containerd.runc.v2 with BinaryName = the wrapper),
// for the RuntimeClass "gvisor" of podsem's kind node. gVisor's own shim needs
// CAP_SYS_RESOURCE, which hosts like ours lack; where it is available, prefer it.
//
// The runc shim speaks runc's command line; runsc understands most of it, and
// the wrapper bridges what differs:
//
//  1. Cgroup mounts: kind bind-mounts kubelet's cgroups onto themselves, and
//     runsc fails to resolve cgroup paths with a hierarchy mounted twice. Every
//     call runs in a mount namespace of its own (cloned per call; propagation
//     slave) with those submounts detached (SetupPrivateMounts).
//  2. Systemd cgroup paths: runsc manages systemd cgroups only on cgroup v2.
//     --systemd-cgroup is dropped, and create rewrites config.json: the
//     "slice:prefix:name" cgroupsPath becomes its cgroupfs path, and the pod's
//     sandbox container is put into the pod's cgroup (RewriteSpec).
//  3. Start and exit: runsc starts an app container only at `runsc start`,
//     handing it start's own stdio, and writes the sandbox's PID to every
//     --pid-file; the shim gives stdio to create, reads start's output to EOF
//     and watches the pid file's process for the container's exit. For app
//     containers, create leaves a holder process (holder.go) that keeps create's
//     stdio, stands in the pid file and in the container's cgroup, runs
//     `runsc start` with that stdio when asked, then `runsc wait` and exits with
//     the container's status. As containerd derives a target container's PID
//     namespace from its task PID (the holder's), create also names each app
//     container's PID namespace for runsc (Rewrite), so that an ephemeral
//     container joins its target's.
//  4. Errors: a kill of an exited container is reported in the words the shim
//     takes for "already exited", and a delete that fails only on an already
//     removed filestore file succeeds.
//
// Every call re-executes the wrapper in a new mount namespace, so concurrent
// calls share nothing but runsc's own state (which runsc locks) and one state
// directory per app container, removed on delete.
package gvisor

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Where things are in the node.
var (
	Runsc = "/usr/local/bin/runsc"
	// StateDir holds one directory per app container: <runc root base>/<id>/.
	StateDir = "/run/runsc-wrapper"
	// LogFile records what the wrapper did beyond handing calls to runsc.
	LogFile = "/var/log/runsc-wrapper.log"
	// FlagsFile, when present, adds runsc global flags (whitespace separated,
	// # comments), e.g. "--debug --debug-log=/var/log/runsc/" while debugging.
	FlagsFile = "/etc/runsc-wrapper/flags"
	// TraceFile, when present, makes the wrapper log every call and its status.
	TraceFile = "/etc/runsc-wrapper/trace"
)

// Internal roles of the binary, as its first argument; no runc command looks so.
const (
	innerArg  = "runsc-wrapper:inner"
	holderArg = "runsc-wrapper:holder"
)

// Main runs the wrapper on its arguments (without the program name) and
// returns the exit status.
func Main(argv []string) int {
	if len(argv) > 0 {
		switch argv[0] {
		case innerArg:
			return inner(argv[1:])
		case holderArg:
			return holderMain(argv[1:])
		}
	}
	return outer(argv)
}

// outer runs the call in a new mount namespace: a copy of the wrapper, cloned
// with CLONE_NEWNS, that dies with this process.
func outer(argv []string) int {
	call, err := ParseCall(argv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "runsc-wrapper:", err)
		return 2
	}
	switch call.Command {
	case "", "help", "features", "spec":
		// --version and the like need no namespace and no rewriting.
		return execRunsc(argv)
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "runsc-wrapper:", err)
		return 1
	}
	// The parent-death signal is tied to the thread that forks.
	runtime.LockOSThread()
	cmd := exec.Command(self, append([]string{innerArg}, argv...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	return exitCode(cmd.Run())
}

// wrapper is one call being served inside the private mount namespace.
type wrapper struct {
	call     *Call
	settings Settings
	global   []string // runsc global options
}

func inner(argv []string) int {
	call, err := ParseCall(argv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "runsc-wrapper:", err)
		return 2
	}
	w := &wrapper{call: call, settings: loadSettings()}
	w.global = w.settings.GlobalArgs(call)
	if _, err := os.Stat(TraceFile); err == nil {
		logf("call: %q", argv)
	}
	if err := SetupPrivateMounts(); err != nil {
		return w.fail("preparing the mount namespace: %v", err)
	}
	if err := os.MkdirAll(w.settings.Root(call), 0o711); err != nil {
		return w.fail("%v", err)
	}
	switch call.Command {
	case "create":
		return w.create()
	case "start":
		return w.start()
	case "kill":
		return w.kill()
	case "delete":
		return w.delete()
	}
	return execRunsc(w.runscArgs())
}

func loadSettings() Settings {
	s := DefaultSettings
	raw, err := os.ReadFile(FlagsFile)
	if err != nil {
		return s
	}
	s.Flags = append([]string(nil), s.Flags...)
	for _, line := range strings.Split(string(raw), "\n") {
		line, _, _ = strings.Cut(line, "#")
		s.Flags = append(s.Flags, strings.Fields(line)...)
	}
	return s
}

// runscArgs is the call as runsc takes it, without the command options in skip.
func (w *wrapper) runscArgs(skip ...string) []string {
	return append(append([]string(nil), w.global...), w.call.CommandArgs(skip...)...)
}

// stateDir is the app container's directory of wrapper state.
func (w *wrapper) stateDir(id string) string {
	return filepath.Join(StateDir, filepath.Base(w.settings.Root(w.call)), id)
}

func (w *wrapper) create() int {
	cwd, _ := os.Getwd()
	id := w.call.ID()
	info, err := RewriteBundle(w.call.Bundle(cwd), Rewrite{
		PIDNamespace:       pidNamespaceName(id),
		TargetPIDNamespace: holderPIDNamespace,
	})
	if err != nil {
		return w.fail("rewriting the bundle's config.json: %v", err)
	}
	if !info.Subcontainer {
		// The pod's sandbox (or a lone container): runsc's sandbox process is
		// what its pid file should name, and create's stdio goes to it.
		return execRunsc(w.runscArgs())
	}

	pidFile, _ := w.call.Lookup("pid-file")
	if code := run(w.runscArgs("pid-file"), os.Stdin, os.Stdout, os.Stderr); code != 0 {
		return code
	}
	dir := w.stateDir(id)
	pid, err := spawnHolder(id, dir, info.SandboxID, w.global)
	if err == nil && pidFile != "" {
		err = writeFileAtomic(pidFile, []byte(strconv.Itoa(pid)))
	}
	if err != nil {
		if pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		run(append(append([]string(nil), w.global...), "delete", "--force", id), nil, nil, nil)
		os.RemoveAll(dir)
		return w.fail("creating container %s: %v", id, err)
	}
	// In the container's cgroup, the holder is what the shim reads statistics
	// and OOM events from; it would otherwise sit in containerd's.
	if info.Cgroup != "" {
		if _, err := JoinCgroup(pid, info.Cgroup); err != nil {
			logf("%s: holder %d: joining cgroup %s: %v", id, pid, info.Cgroup, err)
		}
	}
	return 0
}

func (w *wrapper) start() int {
	id := w.call.ID()
	dir := w.stateDir(id)
	if _, err := os.Stat(filepath.Join(dir, holderSocket)); err != nil {
		// No holder: the sandbox container, whose process runs since create.
		code, out := runCaptured(w.runscArgs())
		os.Stderr.WriteString(out)
		return code
	}
	code, err := requestStart(dir)
	if err != nil {
		return w.fail("starting container %s: %v", id, err)
	}
	if code != 0 {
		msg := ""
		if log, ok := w.call.LookupGlobal("log"); ok {
			msg = LastLogError(log)
		}
		if msg == "" {
			msg = fmt.Sprintf("runsc start exited with status %d", code)
		}
		// Already in the log when runsc wrote it: print only.
		fmt.Fprintln(os.Stderr, msg)
		return 1
	}
	return 0
}

func (w *wrapper) kill() int {
	id := w.call.ID()
	sig := ""
	if len(w.call.Args) > 1 {
		sig = w.call.Args[1]
	}
	code, out := runCaptured(w.runscArgs())
	dir := w.stateDir(id)
	h := loadHolder(dir, id)
	if h != nil && !h.started && IsTerminating(sig) {
		// runsc destroyed the created container; its holder stands for it.
		h.signal(syscall.Signal(SignalNumber(sig)))
	}
	if code != 0 {
		mapped, ok := MapKillError(out)
		if !ok && h == nil && fileExists(filepath.Join(dir, holderPID)) {
			// The holder has exited: for the shim the container's process is gone,
			// whatever runsc makes of a container whose start failed.
			mapped, ok = notRunning+": "+strings.TrimSpace(out), true
		}
		if ok {
			out = mapped + "\n"
		}
		os.Stderr.WriteString(out)
		return code
	}
	os.Stdout.WriteString(out)
	return 0
}

func (w *wrapper) delete() int {
	id := w.call.ID()
	dir := w.stateDir(id)
	h := loadHolder(dir, id)
	if h != nil && !h.started {
		// Never started: nothing will end its wait for the start request.
		h.stop(syscall.SIGKILL, 2*time.Second)
	}
	code, out := runCaptured(w.runscArgs())
	if code != 0 && IgnorableDeleteError(out) {
		logf("%s: delete: ignoring %s", id, strings.TrimSpace(out))
		code, out = 0, ""
	}
	if h != nil && h.started {
		// Its runsc wait ends with the container; do not leave it behind.
		h.stop(syscall.SIGKILL, 2*time.Second)
	}
	if code == 0 || strings.Contains(out, "does not exist") {
		os.RemoveAll(dir)
		sweepSandbox(filepath.Dir(dir), id)
		w.sweepContainers(id)
		sweepLocks(w.settings.Root(w.call), id)
	}
	if code != 0 {
		os.Stderr.WriteString(out)
		return code
	}
	return 0
}

// sweepContainers deletes, once a pod's sandbox container is deleted, the runsc
// state of any of its app containers containerd did not delete (after a failed
// start, containerd may give up on one).
func (w *wrapper) sweepContainers(sandboxID string) {
	states, _ := filepath.Glob(filepath.Join(w.settings.Root(w.call), "*_sandbox:"+sandboxID+".state"))
	for _, state := range states {
		cid, _, _ := strings.Cut(filepath.Base(state), "_sandbox:")
		if cid == sandboxID {
			continue
		}
		code, out := runCaptured(append(append([]string(nil), w.global...), "delete", "--force", cid))
		logf("%s: deleted with its sandbox %s: status %d %s", cid, sandboxID, code, strings.TrimSpace(out))
	}
}

func fileExists(file string) bool {
	_, err := os.Stat(file)
	return err == nil
}

// pidNamespaceName is the name an app container's own PID namespace is given
// (see Rewrite); nothing is created there.
func pidNamespaceName(id string) string { return filepath.Join(StateDir, "pidns", id) }

// holderPIDNamespace names the PID namespace of the container whose holder is pid.
func holderPIDNamespace(pid int) (string, bool) {
	id, ok := holderContainer(pid)
	if !ok {
		return "", false
	}
	return pidNamespaceName(id), true
}

// sweepLocks removes the lock files runsc leaves for deleted containers: any
// runsc call that races with a delete recreates <id>_sandbox:<sandbox>.lock
// after runsc removed it. It removes those of container id, and those of every
// container of sandbox id, when their state file is gone.
func sweepLocks(root, id string) {
	for _, pattern := range []string{id + "_sandbox:*.lock", "*_sandbox:" + id + ".lock"} {
		locks, _ := filepath.Glob(filepath.Join(root, pattern))
		for _, lock := range locks {
			if _, err := os.Stat(strings.TrimSuffix(lock, ".lock") + ".state"); os.IsNotExist(err) {
				os.Remove(lock)
			}
		}
	}
}

// fail reports an error the way runc does: on stderr, and as an error entry
// in the --log file the shim reads its error messages from.
func (w *wrapper) fail(format string, args ...any) int {
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintln(os.Stderr, "runsc-wrapper:", msg)
	logf("%s %s: %s", w.call.Command, w.call.ID(), msg)
	if file, ok := w.call.LookupGlobal("log"); ok && file != "" {
		f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			if format, _ := w.call.LookupGlobal("log-format"); format == "json" {
				b, _ := json.Marshal(map[string]string{"level": "error", "msg": "runsc-wrapper: " + msg,
					"time": time.Now().UTC().Format(time.RFC3339Nano)})
				f.Write(append(b, '\n'))
			} else {
				fmt.Fprintf(f, "%s error runsc-wrapper: %s\n", time.Now().UTC().Format(time.RFC3339), msg)
			}
			f.Close()
		}
	}
	return 1
}

// execRunsc replaces the process with runsc; only an error returns.
func execRunsc(args []string) int {
	err := syscall.Exec(Runsc, append([]string{"runsc"}, args...), os.Environ())
	fmt.Fprintf(os.Stderr, "runsc-wrapper: exec %s: %v\n", Runsc, err)
	return 127
}

// run runs runsc with the given stdio (nil: /dev/null) and returns its status.
func run(args []string, stdin, stdout, stderr *os.File) int {
	cmd := exec.Command(Runsc, args...)
	// Files, not io.Readers/Writers: the child gets the descriptors themselves.
	if stdin != nil {
		cmd.Stdin = stdin
	}
	if stdout != nil {
		cmd.Stdout = stdout
	}
	if stderr != nil {
		cmd.Stderr = stderr
	}
	return exitCode(cmd.Run())
}

// runCaptured runs runsc with its output going to an unlinked temporary file,
// not a pipe: a process runsc leaves behind cannot keep us waiting for EOF.
func runCaptured(args []string) (int, string) {
	f, err := os.CreateTemp("", "runsc-wrapper-")
	if err != nil {
		return 1, fmt.Sprintf("runsc-wrapper: %v\n", err)
	}
	os.Remove(f.Name())
	defer f.Close()
	code := run(args, nil, f, f)
	f.Seek(0, io.SeekStart)
	out, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	return code, string(out)
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	fmt.Fprintln(os.Stderr, "runsc-wrapper:", err)
	return 127
}

func writeFileAtomic(file string, data []byte) error {
	tmp := fmt.Sprintf("%s.%d.tmp", file, os.Getpid())
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, file); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func logf(format string, args ...any) {
	f, err := os.OpenFile(LogFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s [%d] "+format+"\n", append([]any{time.Now().Format(time.RFC3339Nano), os.Getpid()}, args...)...)
}

// readLine reads one line from r, without its newline.
func readLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && line == "" {
		return "", err
	}
	return strings.TrimSpace(line), nil
}
