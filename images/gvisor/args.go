package gvisor

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Flag is one option of a runc command line: --name, --name=value or --name value.
type Flag struct {
	Name  string
	Value string
	// Bool is set for options that take no value.
	Bool bool
}

// Call is one runc command line, as containerd's runc shim builds it:
// runc [global options] command [command options] arguments.
type Call struct {
	Global  []Flag
	Command string
	Flags   []Flag
	Args    []string
}

// valueFlags lists, per command, the runc options that take a value (the
// global ones under ""); every other option is a boolean. Short aliases are
// mapped to their long names by aliases.
var valueFlags = map[string][]string{
	"":       {"root", "log", "log-format", "criu", "rootless"},
	"create": {"bundle", "console-socket", "pid-file", "preserve-fds"},
	"run":    {"bundle", "console-socket", "pid-file", "preserve-fds"},
	"exec": {"process", "pid-file", "console-socket", "cwd", "env", "user", "additional-gids",
		"cap", "process-label", "apparmor", "preserve-fds", "cgroup"},
	"ps":     {"format"},
	"events": {"interval"},
	"update": {"resources", "blkio-weight", "cpu-period", "cpu-quota", "cpu-share", "cpu-rt-period",
		"cpu-rt-runtime", "cpuset-cpus", "cpuset-mems", "memory", "memory-reservation", "memory-swap",
		"pids-limit", "l3-cache-schema", "mem-bw-schema"},
	"checkpoint": {"image-path", "work-path", "parent-path", "page-server", "manage-cgroups-mode",
		"empty-ns", "status-fd", "lsm-profile"},
	"restore": {"image-path", "work-path", "bundle", "pid-file", "console-socket", "manage-cgroups-mode",
		"empty-ns", "lsm-profile", "lsm-mount-context"},
}

var aliases = map[string]map[string]string{
	"":       {"v": "version", "h": "help"},
	"create": {"b": "bundle"},
	"run":    {"b": "bundle", "d": "detach"},
	"exec":   {"p": "process", "d": "detach", "t": "tty", "e": "env", "u": "user", "g": "additional-gids", "c": "cap"},
	"kill":   {"a": "all"},
	"delete": {"f": "force"},
	"ps":     {"f": "format"},
	"update": {"r": "resources"},
}

func takesValue(command, name string) bool {
	for _, n := range valueFlags[command] {
		if n == name {
			return true
		}
	}
	return false
}

// ParseCall splits a runc command line (without the program name).
func ParseCall(argv []string) (*Call, error) {
	c := &Call{}
	scope := ""
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		if a == "--" {
			c.Args = append(c.Args, argv[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			if c.Command == "" {
				c.Command = a
				scope = a
				continue
			}
			c.Args = append(c.Args, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if long, ok := aliases[scope][name]; ok {
			name = long
		}
		f := Flag{Name: name}
		switch {
		case hasValue:
			f.Value = value
		case takesValue(scope, name):
			if i+1 >= len(argv) {
				return nil, fmt.Errorf("option --%s needs a value", name)
			}
			i++
			f.Value = argv[i]
		default:
			f.Bool = true
		}
		if scope == "" {
			c.Global = append(c.Global, f)
		} else {
			c.Flags = append(c.Flags, f)
		}
	}
	return c, nil
}

// Lookup returns the value of command option name and whether it is set.
func (c *Call) Lookup(name string) (string, bool) { return lookup(c.Flags, name) }

// LookupGlobal returns the value of global option name and whether it is set.
func (c *Call) LookupGlobal(name string) (string, bool) { return lookup(c.Global, name) }

func lookup(flags []Flag, name string) (string, bool) {
	for _, f := range flags {
		if f.Name == name {
			if f.Bool {
				return "true", true
			}
			return f.Value, true
		}
	}
	return "", false
}

// ID is the container ID the command is about (its first argument).
func (c *Call) ID() string {
	if len(c.Args) == 0 {
		return ""
	}
	return c.Args[0]
}

// Bundle is the bundle directory of create and run: --bundle, or the working directory.
func (c *Call) Bundle(cwd string) string {
	if b, ok := c.Lookup("bundle"); ok && b != "" {
		if !filepath.IsAbs(b) {
			return filepath.Join(cwd, b)
		}
		return b
	}
	return cwd
}

// Settings are what the wrapper adds to every runsc call.
type Settings struct {
	// RunscRoot holds one runsc state directory per runc root the shim names
	// (one per containerd namespace): RunscRoot/<base name of --root>.
	RunscRoot string
	// Flags are runsc global flags added to every call.
	Flags []string
}

// DefaultSettings are the node's: --platform=systrap (no KVM in a kind node),
// --overlay2=none (no filestore files, whose removal breaks runsc delete).
var DefaultSettings = Settings{
	RunscRoot: "/run/runsc",
	Flags:     []string{"--platform=systrap", "--overlay2=none"},
}

// Root is the runsc state directory for the call's runc --root.
func (s Settings) Root(c *Call) string {
	root, _ := c.LookupGlobal("root")
	base := filepath.Base(root)
	if root == "" || base == "/" || base == "." {
		base = "default"
	}
	return filepath.Join(s.RunscRoot, base)
}

// GlobalArgs are the runsc global options for the call: the runsc root, the
// shim's log file and format, debug when asked, and the settings' flags.
// --systemd-cgroup is dropped: runsc has no systemd cgroup manager on cgroup v1,
// and the wrapper gives it cgroupfs paths instead (RewriteSpec).
func (s Settings) GlobalArgs(c *Call) []string {
	out := []string{"--root=" + s.Root(c)}
	for _, f := range c.Global {
		switch f.Name {
		case "log", "log-format":
			out = append(out, "--"+f.Name+"="+f.Value)
		case "debug":
			if f.Bool {
				out = append(out, "--debug")
			}
		}
	}
	return append(out, s.Flags...)
}

// dropped lists, per command, the runc options runsc does not know and that
// change nothing under gVisor.
var dropped = map[string][]string{
	"create": {"no-pivot", "no-new-keyring", "detach", "preserve-fds"},
	"run":    {"no-pivot", "no-new-keyring", "preserve-fds"},
	"exec":   {"tty", "no-new-privs", "ignore-paused", "preserve-fds", "process-label", "apparmor", "cgroup"},
	"delete": {},
}

// CommandArgs is the runsc command with its options and arguments, without the
// options in skip (e.g. pid-file, which the wrapper handles itself).
func (c *Call) CommandArgs(skip ...string) []string {
	out := []string{c.Command}
	for _, f := range c.Flags {
		if contains(dropped[c.Command], f.Name) || contains(skip, f.Name) {
			continue
		}
		if f.Bool {
			out = append(out, "--"+f.Name)
		} else {
			out = append(out, "--"+f.Name+"="+f.Value)
		}
	}
	return append(out, c.Args...)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
