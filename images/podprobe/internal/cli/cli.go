// Package cli is the frame every podprobe subcommand runs in: argument and flag
// parsing, the output contract (one JSON object on stdout) and the exit codes.
//
// Exit codes: 0 success, 1 the operation failed (the JSON object carries "error"
// and "errno"), 2 usage error (one line on stderr starting with "podprobe: ").
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// FlagKind says how a flag's value is parsed.
type FlagKind int

const (
	StringFlag FlagKind = iota
	BoolFlag
	DurationFlag
)

// Flag describes one --name option of a command.
type Flag struct {
	Name     string
	Kind     FlagKind
	Default  string
	Value    string // placeholder shown in the usage, e.g. PATH
	Usage    string
	Required bool
}

// Command is one podprobe subcommand. A command either has Run, or Modes
// (e.g. "sysv-msg create|send|recv"), each of which is a Command itself.
type Command struct {
	Name    string
	Args    []string // positional arguments, exactly this many, e.g. {"tcp|udp", "PORT"}
	Summary string
	Flags   []Flag
	Modes   []*Command
	Hidden  bool // internal helpers (re-exec targets), left out of the usage

	// Run does the work. A non-nil result is printed as the command's JSON
	// object; a non-nil error turns it into a failure (exit 1) unless it is a
	// usage error (exit 2). Long-running commands print through
	// Invocation.Emit and return (nil, nil) when they are done.
	Run func(inv *Invocation) (any, error)

	parent string // the command a mode belongs to; set by Register
}

// outFlag is accepted by every command: it copies the JSON object to a file.
var outFlag = Flag{Name: "out", Kind: StringFlag, Value: "PATH",
	Usage: "also write the JSON object to PATH (atomically; parent dirs are created)"}

// Invocation is one parsed command line.
type Invocation struct {
	Command *Command
	Args    []string
	values  map[string]string
	stdout  io.Writer
}

// String returns the value of a string flag (or its default).
func (inv *Invocation) String(name string) string { return inv.values[name] }

// Bool returns the value of a bool flag.
func (inv *Invocation) Bool(name string) bool { return inv.values[name] == "true" }

// Duration returns the value of a duration flag; it was validated when parsed.
func (inv *Invocation) Duration(name string) time.Duration {
	d, _ := time.ParseDuration(inv.values[name])
	return d
}

// Emit prints one JSON object on stdout and, with --out, writes it to that file.
// err, when not nil, adds "error" and "errno" to the object.
func (inv *Invocation) Emit(result any, err error) error {
	line, err := encodeResult(result, err)
	if err != nil {
		return err
	}
	var outErr error
	if path := inv.values[outFlag.Name]; path != "" {
		outErr = WriteFileAtomic(path, line)
	}
	_, werr := inv.stdout.Write(line)
	if outErr != nil {
		return fmt.Errorf("--out: %w", outErr)
	}
	return werr
}

// UsageError is a bad command line; it ends podprobe with exit code 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// Main runs the command named by args and returns the process exit code.
func Main(commands []*Command, args []string, stdout, stderr io.Writer) int {
	usageFailed := func(err error) int {
		msg := strings.ReplaceAll(err.Error(), "\n", " ")
		fmt.Fprintf(stderr, "podprobe: %s\n", msg)
		return 2
	}
	if len(args) == 0 {
		return usageFailed(Usagef("missing subcommand (see 'podprobe help')"))
	}
	if isHelp(args[0]) {
		if err := printHelp(stdout, commands, args[1:]); err != nil {
			return usageFailed(err)
		}
		return 0
	}
	cmd := find(commands, args[0])
	if cmd == nil {
		return usageFailed(Usagef("unknown subcommand %q (see 'podprobe help')", args[0]))
	}
	rest := args[1:]
	if len(cmd.Modes) > 0 {
		if len(rest) == 0 {
			return usageFailed(Usagef("%s: missing mode, want one of %s", cmd.Name, modeNames(cmd)))
		}
		if isHelp(rest[0]) {
			writeUsage(stdout, cmd)
			return 0
		}
		mode := find(cmd.Modes, rest[0])
		if mode == nil {
			return usageFailed(Usagef("%s: unknown mode %q, want one of %s", cmd.Name, rest[0], modeNames(cmd)))
		}
		cmd, rest = mode, rest[1:]
	}
	inv, helpAsked, err := parse(cmd, rest)
	if err != nil {
		return usageFailed(err)
	}
	if helpAsked {
		writeUsage(stdout, cmd)
		return 0
	}
	inv.stdout = stdout

	result, runErr := cmd.Run(inv)
	var usage *UsageError
	if errors.As(runErr, &usage) {
		return usageFailed(runErr)
	}
	if result == nil && runErr == nil {
		return 0
	}
	if err := inv.Emit(result, runErr); err != nil {
		if runErr == nil {
			// The object was printed but --out failed: report that instead.
			inv.values[outFlag.Name] = ""
			_ = inv.Emit(result, err)
		}
		return 1
	}
	if runErr != nil {
		return 1
	}
	return 0
}

// isNumber lets negative numbers (a SysV key, say) through as arguments.
func isNumber(arg string) bool {
	_, err := strconv.ParseFloat(arg, 64)
	return err == nil
}

func isHelp(arg string) bool { return arg == "help" || arg == "-h" || arg == "--help" }

func find(commands []*Command, name string) *Command {
	for _, c := range commands {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func modeNames(cmd *Command) string {
	var names []string
	for _, m := range cmd.Modes {
		names = append(names, m.Name)
	}
	return strings.Join(names, "|")
}

// parse splits args into flags and positional arguments. Flags may come before,
// between or after the positional arguments; "--" ends the flags.
func parse(cmd *Command, args []string) (inv *Invocation, helpAsked bool, err error) {
	flags := append([]Flag{outFlag}, cmd.Flags...)
	inv = &Invocation{Command: cmd, values: map[string]string{}}
	for _, f := range flags {
		inv.values[f.Name] = f.Default
	}
	name := commandPath(cmd)
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			inv.Args = append(inv.Args, args[i+1:]...)
			break
		}
		if len(arg) < 2 || arg[0] != '-' || isNumber(arg) {
			inv.Args = append(inv.Args, arg)
			continue
		}
		if arg == "-h" || arg == "--help" {
			return nil, true, nil
		}
		key, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		var flag *Flag
		for j := range flags {
			if flags[j].Name == key {
				flag = &flags[j]
			}
		}
		if flag == nil {
			return nil, false, Usagef("%s: unknown flag %q", name, arg)
		}
		switch {
		case flag.Kind == BoolFlag && !hasValue:
			value = "true"
		case !hasValue:
			if i+1 >= len(args) {
				return nil, false, Usagef("%s: flag --%s needs a value", name, key)
			}
			i++
			value = args[i]
		}
		switch flag.Kind {
		case BoolFlag:
			if value != "true" && value != "false" {
				return nil, false, Usagef("%s: flag --%s wants true or false, got %q", name, key, value)
			}
		case DurationFlag:
			if d, err := time.ParseDuration(value); err != nil || d < 0 {
				return nil, false, Usagef("%s: flag --%s wants a duration like 2s, got %q", name, key, value)
			}
		}
		inv.values[key] = value
	}
	for _, f := range flags {
		if f.Required && inv.values[f.Name] == "" {
			return nil, false, Usagef("%s: flag --%s is required", name, f.Name)
		}
	}
	if len(inv.Args) != len(cmd.Args) {
		return nil, false, Usagef("%s: want %d argument(s) %s, got %d", name, len(cmd.Args), strings.Join(cmd.Args, " "), len(inv.Args))
	}
	return inv, false, nil
}

// commandPath is "sysv-msg send" for a mode, the command name otherwise; set
// by Register so messages and usage can name modes fully.
func commandPath(cmd *Command) string {
	if cmd.parent != "" {
		return cmd.parent + " " + cmd.Name
	}
	return cmd.Name
}

// Register returns commands after linking each mode to its command's name.
func Register(commands ...*Command) []*Command {
	for _, c := range commands {
		for _, m := range c.Modes {
			m.parent = c.Name
		}
	}
	return commands
}

func printHelp(w io.Writer, commands []*Command, args []string) error {
	if len(args) > 0 {
		cmd := find(commands, args[0])
		if cmd == nil {
			return Usagef("help: unknown subcommand %q", args[0])
		}
		writeUsage(w, cmd)
		return nil
	}
	fmt.Fprintln(w, "Usage: podprobe SUBCOMMAND [ARGS] [FLAGS]")
	fmt.Fprintln(w, "")
	fmt.Fprintln(w, "One-shot subcommands print one JSON object on stdout: exit 0 on success,")
	fmt.Fprintln(w, "exit 1 when the operation failed (the object has \"error\" and \"errno\"),")
	fmt.Fprintln(w, "exit 2 on a usage error (one line on stderr).")
	fmt.Fprintln(w, "Every subcommand accepts --out PATH: also write the JSON object to PATH.")
	fmt.Fprintln(w, "")
	for _, c := range commands {
		if !c.Hidden {
			writeUsage(w, c)
		}
	}
	return nil
}

func writeUsage(w io.Writer, cmd *Command) {
	if len(cmd.Modes) > 0 {
		for _, m := range cmd.Modes {
			writeUsage(w, m)
		}
		return
	}
	line := "podprobe " + commandPath(cmd)
	for _, a := range cmd.Args {
		line += " " + a
	}
	for _, f := range cmd.Flags {
		switch {
		case f.Kind == BoolFlag:
			line += fmt.Sprintf(" [--%s]", f.Name)
		case f.Required:
			line += fmt.Sprintf(" --%s %s", f.Name, f.Value)
		default:
			line += fmt.Sprintf(" [--%s %s]", f.Name, f.Value)
		}
	}
	fmt.Fprintf(w, "  %s\n      %s\n", line, cmd.Summary)
	for _, f := range cmd.Flags {
		def := ""
		if f.Default != "" && f.Kind != BoolFlag {
			def = fmt.Sprintf(" (default %s)", f.Default)
		}
		fmt.Fprintf(w, "      --%s: %s%s\n", f.Name, f.Usage, def)
	}
}

// WriteFileAtomic writes data to path.tmp and renames it to path, so a reader
// (often in another container, through a shared volume) never sees half a file.
func WriteFileAtomic(path string, data []byte) error {
	if dir := dirOf(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func dirOf(path string) string {
	i := strings.LastIndexByte(path, '/')
	if i <= 0 {
		return ""
	}
	return path[:i]
}
