// Command podsem-fault is the OCI runtime behind podsem's fault handlers. Installed
// in the kind node once and linked as fault-<name>; containerd's runc shim calls it
// as it would call runc. On create and run it edits the bundle's config.json as
// fault <name> says, then hands every call to the real runc unchanged.
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
	name := strings.TrimPrefix(filepath.Base(os.Args[0]), "fault-")
	fault, err := faults.Lookup(name)
	if err != nil {
		fmt.Fprintln(os.Stderr, "podsem-fault:", err)
		os.Exit(1)
	}
	if cmd, bundle := parse(os.Args[1:]); cmd == "create" || cmd == "run" {
		if err := apply(fault, bundle); err != nil {
			logf("%s: %s: %v", fault.Handler(), bundle, err)
			fmt.Fprintf(os.Stderr, "podsem-fault %s: %v\n", fault.Handler(), err)
			os.Exit(1)
		}
	}
	err = syscall.Exec(realRunc, append([]string{"runc"}, os.Args[1:]...), os.Environ())
	fmt.Fprintln(os.Stderr, "podsem-fault: exec runc:", err)
	os.Exit(1)
}

// parse finds runc's command and the bundle (default: the working directory).
func parse(args []string) (cmd, bundle string) {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--bundle" || a == "-b":
			if i+1 < len(args) {
				bundle = args[i+1]
			}
		case strings.HasPrefix(a, "--bundle="):
			bundle = strings.TrimPrefix(a, "--bundle=")
		case cmd == "" && !strings.HasPrefix(a, "-") && (i == 0 || !takesValue(args[i-1])):
			cmd = a
		}
	}
	if bundle == "" {
		bundle, _ = os.Getwd()
	}
	return cmd, bundle
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
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var spec specs.Spec
	if err := json.Unmarshal(raw, &spec); err != nil {
		return fmt.Errorf("decoding %s: %w", path, err)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	c := &faults.Container{Spec: &spec, Bundle: bundle, Self: self, PodInitContainers: faults.KubectlInitContainers}
	if err := fault.Apply(c); err != nil {
		return err
	}
	out, err := json.Marshal(&spec)
	if err != nil {
		return err
	}
	if string(out) == string(raw) {
		return nil
	}
	tmp := path + ".podsem-fault"
	if err := os.WriteFile(tmp, out, 0o600); err != nil {
		return err
	}
	logf("%s: edited %s (container %q of pod %s/%s)", fault.Handler(), path, c.Name(),
		spec.Annotations["io.kubernetes.cri.sandbox-namespace"], spec.Annotations["io.kubernetes.cri.sandbox-name"])
	return os.Rename(tmp, path)
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
