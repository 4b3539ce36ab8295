// Command podsem-fault is the OCI runtime behind podsem's fault and benign
// handlers. Installed in the kind node once and linked as fault-<name> and
// benign-<name>; containerd's runc shim calls it as it would call runc. On create
// and run it edits the bundle's config.json as handler <name> says, on exec the
// --process file when the handler edits exec'd processes too (their capabilities
// come from that file, not from the bundle), then hands the call to the real runc.
//
// It has two other roles, inside containers it breaks: a createRuntime hook that
// brings up loopback in a new network namespace, and an init that never reaps
// (selected by the PODSEM_FAULT_ROLE environment variable).
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/podsem/podsem/images/faults"
)

const (
	realRunc = "/usr/local/sbin/runc"
	logFile  = "/var/log/podsem-fault.log"
)

func main() {
	if os.Getenv(faults.RoleEnv) == faults.RoleNoReap {
		noReapInit()
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "loopback-up" {
		if err := loopbackUp(); err != nil {
			fmt.Fprintln(os.Stderr, "podsem-fault loopback-up:", err)
			os.Exit(1)
		}
		return
	}
	fault, err := faults.Lookup(filepath.Base(os.Args[0]))
	if err != nil {
		fmt.Fprintln(os.Stderr, "podsem-fault:", err)
		os.Exit(1)
	}
	call := parse(os.Args[1:])
	switch {
	case call.cmd == "create" || call.cmd == "run":
		err = apply(fault, call.bundle)
	case call.cmd == "exec" && fault.ApplyExec != nil && call.process != "":
		err = applyExec(fault, call)
	case call.cmd == "kill" && fault.DropKill != nil:
		id, signal := killArgs(os.Args[1:])
		var container specs.Spec
		if err = containerSpec(call.global, id, &container); err == nil && fault.DropKill(&container, signal) {
			logf("%s: dropped kill %s of container %s", fault.Handler(), signal, id)
			return
		}
	}
	if err != nil {
		logf("%s: %s %s: %v", fault.Handler(), call.cmd, call.bundle, err)
		fmt.Fprintf(os.Stderr, "podsem-fault %s: %v\n", fault.Handler(), err)
		os.Exit(1)
	}
	err = syscall.Exec(realRunc, append([]string{"runc"}, os.Args[1:]...), os.Environ())
	fmt.Fprintln(os.Stderr, "podsem-fault: exec runc:", err)
	os.Exit(1)
}

// runcCall is what the wrapper needs to know of a runc command line.
type runcCall struct {
	global    []string // the flags before the command (--root, --log, ...)
	cmd       string
	bundle    string // create/run: --bundle, default the working directory
	process   string // exec: --process
	container string // the last argument: the container ID
}

// parse finds runc's command, its global flags, the bundle and the process file.
func parse(args []string) runcCall {
	var c runcCall
	for i := 0; i < len(args); i++ {
		a := args[i]
		value := func() string {
			if i+1 < len(args) {
				return args[i+1]
			}
			return ""
		}
		switch {
		case c.cmd == "" && strings.HasPrefix(a, "-"):
			c.global = append(c.global, a)
			if takesValue(a) && i+1 < len(args) {
				c.global = append(c.global, args[i+1])
				i++
			}
		case c.cmd == "":
			c.cmd = a
		case a == "--bundle" || a == "-b":
			c.bundle = value()
		case strings.HasPrefix(a, "--bundle="):
			c.bundle = strings.TrimPrefix(a, "--bundle=")
		case a == "--process" || a == "-p":
			c.process = value()
		case strings.HasPrefix(a, "--process="):
			c.process = strings.TrimPrefix(a, "--process=")
		}
	}
	if len(args) > 0 {
		c.container = args[len(args)-1]
	}
	if c.bundle == "" {
		c.bundle, _ = os.Getwd()
	}
	return c
}

// takesValue reports whether a global runc flag consumes the next argument.
func takesValue(flag string) bool {
	switch flag {
	case "--root", "--log", "--log-format", "--criu", "--rootless":
		return true
	}
	return false
}

func apply(fault faults.Fault, bundle string) error {
	path := filepath.Join(bundle, "config.json")
	var spec specs.Spec
	raw, err := readJSON(path, &spec)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	c := &faults.Container{Spec: &spec, Bundle: bundle, Self: self, PodInitContainers: faults.KubectlInitContainers}
	if err := fault.Apply(c); err != nil {
		return err
	}
	edited, err := writeJSON(path, raw, &spec)
	if err == nil && edited {
		logf("%s: edited %s (container %q of pod %s/%s)", fault.Handler(), path, c.Name(),
			spec.Annotations["io.kubernetes.cri.sandbox-namespace"], spec.Annotations["io.kubernetes.cri.sandbox-name"])
	}
	return err
}

// killArgs finds the container ID and the signal of `runc [global] kill
// [--all] ID [SIGNAL]`; the signal is "" when runc's default (SIGTERM) applies.
func killArgs(args []string) (id, signal string) {
	var positional []string
	seenCmd := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case !seenCmd && strings.HasPrefix(a, "-"):
			if takesValue(a) {
				i++
			}
		case !seenCmd:
			seenCmd = true
		case strings.HasPrefix(a, "-"):
		default:
			positional = append(positional, a)
		}
	}
	if len(positional) > 0 {
		id = positional[0]
	}
	if len(positional) > 1 {
		signal = positional[1]
	}
	return id, signal
}

// containerSpec reads the spec container id was created with, found through
// runc state.
func containerSpec(global []string, id string, container *specs.Spec) error {
	out, err := exec.Command(realRunc, append(append([]string{}, global...), "state", id)...).Output()
	if err != nil {
		return fmt.Errorf("runc state %s: %w", id, err)
	}
	var state struct {
		Bundle string `json:"bundle"`
	}
	if err := json.Unmarshal(out, &state); err != nil || state.Bundle == "" {
		return fmt.Errorf("runc state %s: no bundle in %q (%v)", id, out, err)
	}
	_, err = readJSON(filepath.Join(state.Bundle, "config.json"), container)
	return err
}

// applyExec edits an exec's process file, given the container's spec as create
// left it, found through runc state.
func applyExec(fault faults.Fault, call runcCall) error {
	var container specs.Spec
	if err := containerSpec(call.global, call.container, &container); err != nil {
		return err
	}
	var process specs.Process
	raw, err := readJSON(call.process, &process)
	if err != nil {
		return err
	}
	if err := fault.ApplyExec(&process, &container); err != nil {
		return err
	}
	edited, err := writeJSON(call.process, raw, &process)
	if err == nil && edited {
		logf("%s: edited exec process %s (container %s)", fault.Handler(), call.process, call.container)
	}
	return err
}

// readJSON decodes path into v and returns v encoded again, for writeJSON to
// tell whether an edit changed anything.
func readJSON(path string, v any) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", path, err)
	}
	return json.Marshal(v)
}

// writeJSON replaces path with v when v differs from what readJSON returned
// (before), through a temporary file so runc never reads half of it.
func writeJSON(path string, before []byte, v any) (bool, error) {
	out, err := json.Marshal(v)
	if err != nil {
		return false, err
	}
	if string(out) == string(before) {
		return false, nil
	}
	tmp := path + ".podsem-fault"
	if err := os.WriteFile(tmp, out, 0o600); err != nil {
		return false, err
	}
	return true, os.Rename(tmp, path)
}

// loopbackUp runs as a createRuntime hook: the container's state arrives on stdin.
func loopbackUp() error {
	var state specs.State
	if err := json.NewDecoder(os.Stdin).Decode(&state); err != nil {
		return fmt.Errorf("reading container state: %w", err)
	}
	out, err := exec.Command("nsenter", "--target", fmt.Sprint(state.Pid), "--net", "ip", "link", "set", "lo", "up").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

// noReapInit stands in for the sandbox's pause: it sleeps until told to stop and,
// unlike pause, never waits for the children the kernel re-parents to it.
func noReapInit() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}

func logf(format string, args ...any) {
	f, err := os.OpenFile(logFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s "+format+"\n", append([]any{time.Now().Format(time.RFC3339)}, args...)...)
}
