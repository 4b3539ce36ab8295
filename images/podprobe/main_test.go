package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podsem/podsem/images/podprobe/internal/cli"
	"github.com/podsem/podsem/images/podprobe/ps"
	"golang.org/x/sys/unix"
)

// These tests run the real command line against real syscalls. The test binary
// re-executes itself as podprobe (asBinaryEnv), which also makes orphan's own
// re-exec work.
const asBinaryEnv = "PODPROBE_TEST_AS_BINARY"

func TestMain(m *testing.M) {
	if os.Getenv(asBinaryEnv) == "1" {
		os.Exit(cli.Main(commands, os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Setenv(asBinaryEnv, "1") // inherited by every podprobe the tests start
	os.Exit(m.Run())
}

// decode keeps numbers as json.Number, so large ones compare exactly.
func decode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}

type outcome struct {
	code   int
	stdout string
	stderr string
	obj    map[string]any
}

func podprobe(args ...string) *exec.Cmd {
	return exec.Command(os.Args[0], args...)
}

// run runs a one-shot subcommand and checks the output contract: exactly one
// JSON object line on stdout for exit 0 and 1, one stderr line for exit 2.
func run(t *testing.T, args ...string) outcome {
	t.Helper()
	out := runRaw(t, args...)
	switch out.code {
	case 0, 1:
		if strings.Count(out.stdout, "\n") != 1 || !strings.HasSuffix(out.stdout, "\n") {
			t.Fatalf("podprobe %v: want one line on stdout, got %q (stderr %q)", args, out.stdout, out.stderr)
		}
		if err := decode([]byte(out.stdout), &out.obj); err != nil {
			t.Fatalf("podprobe %v: stdout is not a JSON object: %v: %q", args, err, out.stdout)
		}
		if _, hasErr := out.obj["error"]; hasErr != (out.code == 1) {
			t.Fatalf("podprobe %v: exit %d but error field present=%v: %s", args, out.code, hasErr, out.stdout)
		}
		if _, hasErrno := out.obj["errno"]; hasErrno != (out.code == 1) {
			t.Fatalf("podprobe %v: exit %d but errno field present=%v: %s", args, out.code, hasErrno, out.stdout)
		}
	case 2:
		if out.stdout != "" || strings.Count(out.stderr, "\n") != 1 || !strings.HasPrefix(out.stderr, "podprobe: ") {
			t.Fatalf("podprobe %v: usage error wants one 'podprobe: ' stderr line and no stdout, got stdout %q stderr %q", args, out.stdout, out.stderr)
		}
	default:
		t.Fatalf("podprobe %v: exit %d, stdout %q, stderr %q", args, out.code, out.stdout, out.stderr)
	}
	return out
}

// runRaw runs podprobe and returns what it printed, unchecked.
func runRaw(t *testing.T, args ...string) outcome {
	t.Helper()
	cmd := podprobe(args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("podprobe %v: %v", args, err)
	}
	return outcome{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// mustSucceed runs args and fails the test unless it exits 0.
func mustSucceed(t *testing.T, args ...string) map[string]any {
	t.Helper()
	out := run(t, args...)
	if out.code != 0 {
		t.Fatalf("podprobe %v: exit %d: %s%s", args, out.code, out.stdout, out.stderr)
	}
	return out.obj
}

// mustFail runs args and wants exit 1 with the given errno.
func mustFail(t *testing.T, errno string, args ...string) map[string]any {
	t.Helper()
	out := run(t, args...)
	if out.code != 1 || out.obj["errno"] != errno {
		t.Fatalf("podprobe %v: want exit 1 with errno %s, got exit %d: %s%s", args, errno, out.code, out.stdout, out.stderr)
	}
	return out.obj
}

func wantField(t *testing.T, obj map[string]any, key string, want any) {
	t.Helper()
	got, ok := obj[key]
	if !ok {
		t.Fatalf("no %q in %v", key, obj)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%q = %v, want %v (object %v)", key, got, want, obj)
	}
}

// daemon is a long-running podprobe whose stdout lines arrive on lines.
type daemon struct {
	cmd   *exec.Cmd
	lines chan string
}

func start(t *testing.T, args ...string) *daemon {
	t.Helper()
	d := &daemon{cmd: podprobe(args...), lines: make(chan string, 16)}
	d.cmd.Stderr = os.Stderr
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			d.lines <- scanner.Text()
		}
		close(d.lines)
	}()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		d.cmd.Wait()
	})
	return d
}

// firstLine waits for the daemon's start line.
func (d *daemon) firstLine(t *testing.T) map[string]any {
	t.Helper()
	select {
	case line, ok := <-d.lines:
		if !ok {
			t.Fatalf("%v exited before printing a line", d.cmd.Args[1:])
		}
		var obj map[string]any
		if err := decode([]byte(line), &obj); err != nil {
			t.Fatalf("start line %q: %v", line, err)
		}
		return obj
	case <-time.After(5 * time.Second):
		t.Fatalf("%v printed nothing in 5s", d.cmd.Args[1:])
	}
	return nil
}

// stop sends SIGTERM and wants exit 0 within a second.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%v after SIGTERM: %v", d.cmd.Args[1:], err)
		}
	case <-time.After(time.Second):
		t.Fatalf("%v still running 1s after SIGTERM", d.cmd.Args[1:])
	}
}

func randomKey() string { return fmt.Sprintf("0x%x", 0x50000000+rand.Uint32N(0x0fffffff)) }

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"no-such-subcommand"},
		{"dial", "tcp"},
		{"dial", "sctp", "127.0.0.1:1"},
		{"dial", "tcp", "127.0.0.1:1", "--timeout", "soon"},
		{"dial", "tcp", "127.0.0.1"},
		{"serve", "tcp", "99999"},
		{"ns", "--no-such-flag"},
		{"ns", "extra"},
		{"sysv-msg"},
		{"sysv-msg", "destroy", "1"},
		{"sysv-msg", "create", "0xzz"},
		{"sysv-msg", "create", "0"},
		{"posix-mq", "create", "a/b"},
		{"signal", "1", "SIGNOPE"},
		{"wait-signal"},
		{"orphan", "--wait"},
		{"help", "no-such-subcommand"},
	} {
		if out := run(t, args...); out.code != 2 {
			t.Errorf("podprobe %v: exit %d, want 2", args, out.code)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		out := runRaw(t, args...)
		if out.code != 0 || out.stderr != "" {
			t.Fatalf("%v: exit %d, stderr %q", args, out.code, out.stderr)
		}
		for _, want := range []string{"podprobe serve tcp|udp PORT", "podprobe sysv-msg recv KEY", "podprobe orphan", "--out"} {
			if !strings.Contains(out.stdout, want) {
				t.Errorf("%v: usage lacks %q", args, want)
			}
		}
		if strings.Contains(out.stdout, "orphan-child") {
			t.Errorf("%v: usage lists a hidden subcommand", args)
		}
	}
	for _, args := range [][]string{{"help", "dial"}, {"dial", "-h"}, {"sysv-msg", "--help"}} {
		out := runRaw(t, args...)
		if out.code != 0 || !strings.Contains(out.stdout, "podprobe "+args[0]+" ") && !strings.Contains(out.stdout, "podprobe "+args[1]+" ") {
			t.Errorf("%v: exit %d, stdout %q", args, out.code, out.stdout)
		}
	}
}

func TestNS(t *testing.T) {
	obj := mustSucceed(t, "ns")
	namespaces, _ := obj["namespaces"].(map[string]any)
	for _, kind := range []string{"net", "ipc", "uts", "pid", "mnt"} {
		if link, _ := namespaces[kind].(string); !strings.HasPrefix(link, kind+":[") {
			t.Errorf("namespaces.%s = %q", kind, link)
		}
	}
	self, _ := os.Readlink("/proc/self/ns/net")
	wantField(t, namespaces, "net", self)
	wantField(t, obj, "ppid", os.Getpid())
	for _, key := range []string{"hostname", "domainname", "pid", "uid_map", "gid_map"} {
		if _, ok := obj[key]; !ok {
			t.Errorf("no %q in %v", key, obj)
		}
	}
}

func TestOutFlagWritesTheSameObject(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new", "dir", "ns.json")
	out := run(t, "ns", "--out", path)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != out.stdout {
		t.Fatalf("--out file %q differs from stdout %q", data, out.stdout)
	}
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary file left behind: %v", err)
	}
	// A failure is written too, so an init container leaves evidence either way.
	failPath := filepath.Join(t.TempDir(), "fail.json")
	mustFail(t, "ENOENT", "file", "read", "/no/such/file", "--out", failPath)
	if data, _ := os.ReadFile(failPath); !strings.Contains(string(data), `"errno":"ENOENT"`) {
		t.Fatalf("--out of a failure: %q", data)
	}
}

func TestSysVMessageQueue(t *testing.T) {
	key := randomKey()
	mustFail(t, "ENOENT", "sysv-msg", "send", key, "early")
	created := mustSucceed(t, "sysv-msg", "create", key)
	t.Cleanup(func() { run(t, "sysv-msg", "remove", key) })
	wantKey, _ := strconv.ParseInt(strings.TrimPrefix(key, "0x"), 16, 64)
	wantField(t, created, "key", wantKey)

	sent := mustSucceed(t, "sysv-msg", "send", key, "hello pod")
	wantField(t, sent, "sent", "hello pod")
	wantField(t, sent, "id", created["id"])
	got := mustSucceed(t, "sysv-msg", "recv", key)
	wantField(t, got, "received", "hello pod")
	mustFail(t, "ENOMSG", "sysv-msg", "recv", key)

	// The decimal spelling names the same queue.
	mustSucceed(t, "sysv-msg", "send", strconv.FormatInt(wantKey, 10), "by decimal key")
	wantField(t, mustSucceed(t, "sysv-msg", "recv", key), "received", "by decimal key")

	wantField(t, mustSucceed(t, "sysv-msg", "remove", key), "removed", true)
	mustFail(t, "ENOENT", "sysv-msg", "recv", key)

	// send --create leaves a message behind in a queue it makes.
	wantField(t, mustSucceed(t, "sysv-msg", "send", key, "left behind", "--create"), "sent", "left behind")
	wantField(t, mustSucceed(t, "sysv-msg", "recv", key), "received", "left behind")
	wantField(t, mustSucceed(t, "sysv-msg", "remove", key), "removed", true)
}

func TestSysVSharedMemory(t *testing.T) {
	key := randomKey()
	mustFail(t, "ENOENT", "sysv-shm", "read", key)
	wantField(t, mustSucceed(t, "sysv-shm", "write", key, "first"), "written", "first")
	t.Cleanup(func() { run(t, "sysv-shm", "remove", key) })
	wantField(t, mustSucceed(t, "sysv-shm", "read", key), "read", "first")
	mustSucceed(t, "sysv-shm", "write", key, "2nd")
	wantField(t, mustSucceed(t, "sysv-shm", "read", key), "read", "2nd")
	mustSucceed(t, "sysv-shm", "remove", key)
	mustFail(t, "ENOENT", "sysv-shm", "read", key)
}

func TestSysVSharedMemoryHold(t *testing.T) {
	key := randomKey()
	held := mustSucceed(t, "sysv-shm", "write", key, "held", "--hold", "10s")
	t.Cleanup(func() { run(t, "sysv-shm", "remove", key) })
	wantField(t, held, "written", "held")
	pid := fmt.Sprint(held["holder_pid"])
	if n, _ := strconv.Atoi(pid); n <= 0 || n == os.Getpid() {
		t.Fatalf("holder_pid %q", pid)
	}
	t.Cleanup(func() { syscall.Kill(mustAtoi(t, pid), syscall.SIGKILL) })
	wantField(t, mustSucceed(t, "sysv-shm", "read", key), "read", "held")
	stopped := mustSucceed(t, "signal", pid, "SIGTERM", "--wait", "5s")
	wantField(t, stopped, "exited", true)
	// With the holder gone the segment has no attachment: it stays unless the
	// IPC namespace forces its removal.
	forced, err := os.ReadFile("/proc/sys/kernel/shm_rmid_forced")
	if err != nil {
		t.Skip("no kernel.shm_rmid_forced:", err)
	}
	if strings.TrimSpace(string(forced)) == "1" {
		mustFail(t, "ENOENT", "sysv-shm", "read", key)
	} else {
		wantField(t, mustSucceed(t, "sysv-shm", "read", key), "read", "held")
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSignalWaitsForTheExit(t *testing.T) {
	target := start(t, "sleep")
	// Our own child: once it exits it stays a zombie until Wait, and that counts.
	got := mustSucceed(t, "signal", strconv.Itoa(target.cmd.Process.Pid), "SIGTERM", "--wait", "5s")
	wantField(t, got, "exited", true)
	stubborn := exec.Command("sleep", "10")
	if err := stubborn.Start(); err != nil {
		t.Skip("no sleep(1):", err)
	}
	defer func() { stubborn.Process.Kill(); stubborn.Wait() }()
	got = mustFail(t, "ETIMEDOUT", "signal", strconv.Itoa(stubborn.Process.Pid), "0", "--wait", "100ms")
	wantField(t, got, "exited", false)
}

func TestEnviron(t *testing.T) {
	marker := fmt.Sprintf("PODPROBE_TEST_MARKER=%d", rand.Uint32())
	target := podprobe("sleep")
	target.Env = append(os.Environ(), marker)
	if err := target.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { target.Process.Kill(); target.Wait() }()
	got := mustSucceed(t, "environ", strconv.Itoa(target.Process.Pid))
	env, _ := got["environ"].([]any)
	if !slices.Contains(env, any(marker)) {
		t.Fatalf("environ of process %d lacks %s: %v", target.Process.Pid, marker, got)
	}
	mustFail(t, "ENOENT", "environ", "999999999")
}

func TestPOSIXMessageQueue(t *testing.T) {
	name := fmt.Sprintf("podprobe-test-%d", rand.Uint32())
	mustFail(t, "ENOENT", "posix-mq", "send", name, "early")
	wantField(t, mustSucceed(t, "posix-mq", "create", name), "created", true)
	t.Cleanup(func() { run(t, "posix-mq", "remove", name) })
	mustFail(t, "EAGAIN", "posix-mq", "recv", name)
	sent := mustSucceed(t, "posix-mq", "send", "/"+name, "over mqueue")
	wantField(t, sent, "name", "/"+name)
	wantField(t, sent, "sent", "over mqueue")
	wantField(t, mustSucceed(t, "posix-mq", "recv", "/"+name), "received", "over mqueue")
	mustFail(t, "EAGAIN", "posix-mq", "recv", name)
	mustSucceed(t, "posix-mq", "remove", name)
	mustFail(t, "ENOENT", "posix-mq", "recv", name)
}

func TestBindTwice(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	taken := mustFail(t, "EADDRINUSE", "bind", "tcp", port, "--addr", "127.0.0.1")
	wantField(t, taken, "bound", false)
	wantField(t, taken, "addr", "127.0.0.1:"+port)
	ln.Close()
	wantField(t, mustSucceed(t, "bind", "tcp", port, "--addr", "127.0.0.1"), "bound", true)

	pc, err := net.ListenPacket("udp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	uport := strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
	wantField(t, mustFail(t, "EADDRINUSE", "bind", "udp", uport), "proto", "udp")
}

// freePort returns a port nothing listens on right now.
func freePort(t *testing.T, proto string) string {
	t.Helper()
	var addr net.Addr
	if proto == "tcp" {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = ln.Addr()
		ln.Close()
	} else {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = pc.LocalAddr()
		pc.Close()
	}
	_, port, _ := net.SplitHostPort(addr.String())
	return port
}

func TestServeAndDial(t *testing.T) {
	netns, _ := os.Readlink("/proc/self/ns/net")
	for _, proto := range []string{"tcp", "udp"} {
		t.Run(proto, func(t *testing.T) {
			server := start(t, "serve", proto, "0", "--addr", "127.0.0.1")
			started := server.firstLine(t)
			wantField(t, started, "proto", proto)
			addr, _ := started["listening"].(string)
			if !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
				t.Fatalf("listening = %q", addr)
			}

			got := mustSucceed(t, "dial", proto, addr, "--payload", "ping "+proto)
			wantField(t, got, "result", "ok")
			wantField(t, got, "sent", "ping "+proto)
			wantField(t, got, "echo", "ping "+proto)
			wantField(t, got, "addr", addr)
			if local, _ := got["local"].(string); !strings.HasPrefix(local, "127.0.0.1:") || local == addr {
				t.Fatalf("local = %q, want the client's own 127.0.0.1 address", local)
			}
			srv, _ := got["server"].(map[string]any)
			wantField(t, srv, "pid", server.cmd.Process.Pid)
			wantField(t, srv, "netns", netns)

			random := mustSucceed(t, "dial", proto, addr)
			if sent, _ := random["sent"].(string); sent == "" || sent != random["echo"] {
				t.Fatalf("random payload: %v", random)
			}

			// The port is taken while serve runs; serve on it again fails.
			_, port, _ := net.SplitHostPort(addr)
			failed := mustFail(t, "EADDRINUSE", "serve", proto, port, "--addr", "127.0.0.1")
			wantField(t, failed, "proto", proto)
			server.stop(t)
		})
	}
}

func TestDialRefused(t *testing.T) {
	for _, proto := range []string{"tcp", "udp"} {
		addr := "127.0.0.1:" + freePort(t, proto)
		got := mustFail(t, "ECONNREFUSED", "dial", proto, addr, "--timeout", "2s")
		wantField(t, got, "result", "refused")
		wantField(t, got, "proto", proto)
	}
}

func TestDialTimeoutAndMismatch(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			line, _ := bufio.NewReader(conn).ReadString('\n')
			if strings.HasPrefix(line, "silence") {
				continue // never answers: the dial times out
			}
			fmt.Fprintf(conn, "{\"echo\":\"not what you sent\",\"hostname\":\"x\",\"pid\":1}\n")
			conn.Close()
		}
	}()
	addr := ln.Addr().String()
	got := mustFail(t, "ETIMEDOUT", "dial", "tcp", addr, "--payload", "silence", "--timeout", "300ms")
	wantField(t, got, "result", "timeout")
	got = mustFail(t, "", "dial", "tcp", addr, "--payload", "hello")
	wantField(t, got, "result", "mismatch")
	wantField(t, got, "echo", "not what you sent")

	// UDP: a bound socket that never answers.
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	got = mustFail(t, "ETIMEDOUT", "dial", "udp", pc.LocalAddr().String(), "--timeout", "500ms")
	wantField(t, got, "result", "timeout")
}

func TestSignalIsRecordedByWaitSignal(t *testing.T) {
	record := filepath.Join(t.TempDir(), "shared", "signals.json")
	target := start(t, "wait-signal", "--record", record)
	ready := target.firstLine(t)
	wantField(t, ready, "ready", true)
	pid := strconv.Itoa(target.cmd.Process.Pid)

	readRecord := func() map[string]any {
		var obj map[string]any
		data, err := os.ReadFile(record)
		if err != nil {
			t.Fatal(err)
		}
		if err := decode(data, &obj); err != nil {
			t.Fatalf("record %q: %v", data, err)
		}
		return obj
	}
	wantField(t, readRecord(), "signals", []any{})
	wantField(t, readRecord(), "pid", pid)

	wantField(t, mustSucceed(t, "signal", pid, "USR1"), "signal", "SIGUSR1")
	want := []any{"SIGUSR1"}
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if fmt.Sprint(readRecord()["signals"]) == fmt.Sprint(want) {
			if len(want) == 3 {
				break
			}
			// One at a time: the same pending signal is merged by the kernel.
			next := map[int]string{1: "SIGHUP", 2: "12"}[len(want)]
			got := mustSucceed(t, "signal", pid, next)
			wantField(t, got, "delivered", true)
			want = append(want, got["signal"])
		}
		if time.Now().After(deadline) {
			t.Fatalf("record %v, want signals %v", readRecord(), want)
		}
	}
	if fmt.Sprint(want) != "[SIGUSR1 SIGHUP SIGUSR2]" {
		t.Fatalf("signal names %v", want)
	}
	target.stop(t)
}

func TestWaitSignalDetach(t *testing.T) {
	record := filepath.Join(t.TempDir(), "signals.json")
	got := mustSucceed(t, "wait-signal", "--record", record, "--detach")
	wantField(t, got, "ready", true)
	wantField(t, got, "signals", []any{})
	pid := fmt.Sprint(got["pid"])
	if pid == "" || pid == strconv.Itoa(os.Getpid()) {
		t.Fatalf("detached pid %q", pid)
	}
	n, _ := strconv.Atoi(pid)
	reaped := make(chan struct{})
	defer func() {
		syscall.Kill(n, syscall.SIGKILL)
		<-reaped
	}()
	// The detached target's parent has exited: it is ours now (a subreaper or
	// not), or init's; reap it if it comes to us so no zombie is left.
	go func() {
		defer close(reaped)
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if err := syscall.Kill(n, 0); err == syscall.ESRCH {
				return
			}
			var ws syscall.WaitStatus
			syscall.Wait4(n, &ws, syscall.WNOHANG, nil)
		}
	}()
	if out := runRaw(t, "wait-signal", "--record", record, "--detach"); out.code != 0 {
		t.Fatalf("a second detach on the same record path: %+v", out)
	}
	wantField(t, mustSucceed(t, "signal", pid, "USR1"), "delivered", true)
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		data, _ := os.ReadFile(record)
		var obj map[string]any
		if decode(data, &obj) == nil && fmt.Sprint(obj["pid"]) == pid && fmt.Sprint(obj["signals"]) == "[SIGUSR1]" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("record %s, want pid %s with signals [SIGUSR1]", data, pid)
		}
	}
}

func TestRawSocket(t *testing.T) {
	out := run(t, "raw-socket")
	switch {
	case out.code == 0:
		wantField(t, out.obj, "opened", true)
	case out.code == 1 && out.obj["errno"] == "EPERM":
		wantField(t, out.obj, "opened", false)
	default:
		t.Fatalf("raw-socket: exit %d, %s", out.code, out.stdout)
	}
	wantField(t, out.obj, "protocol", "icmp")
}

func TestSignalErrors(t *testing.T) {
	child := exec.Command("true")
	if err := child.Run(); err != nil {
		t.Skip("no true(1):", err)
	}
	// A reaped child's pid is free (until reused, which is unlikely this soon).
	got := mustFail(t, "ESRCH", "signal", strconv.Itoa(child.Process.Pid), "SIGTERM")
	wantField(t, got, "delivered", false)
	wantField(t, got, "signal", "SIGTERM")
}

// zombieReaper reaps the test process' adopted zombies, except skip (a direct
// child that exec.Cmd.Wait will reap), until stop is closed.
func zombieReaper(skip int, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(5 * time.Millisecond):
		}
		list, _ := ps.List()
		for _, p := range list {
			if p.PPID == os.Getpid() && p.PID != skip && p.State == "Z" {
				var ws unix.WaitStatus
				unix.Wait4(p.PID, &ws, unix.WNOHANG, nil)
			}
		}
	}
}

func runOrphan(t *testing.T, reap bool) map[string]any {
	t.Helper()
	// The test process stands in for a pod's PID 1: orphans come to it.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Skip("PR_SET_CHILD_SUBREAPER:", err)
	}
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	cmd := podprobe("orphan", "--wait", "1500ms")
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	if reap {
		go zombieReaper(cmd.Process.Pid, stop)
	}
	err := cmd.Wait()
	close(stop)
	if err != nil {
		t.Fatalf("orphan: %v: %s", err, stdout.String())
	}
	var obj map[string]any
	if err := decode(stdout.Bytes(), &obj); err != nil {
		t.Fatalf("orphan printed %q", stdout.String())
	}
	if pid, _ := strconv.Atoi(fmt.Sprint(obj["orphan_pid"])); pid > 0 && !reap {
		var ws unix.WaitStatus
		unix.Wait4(int(pid), &ws, 0, nil) // the zombie we let live
	}
	wantField(t, obj, "reparented_to", os.Getpid())
	if obj["observer_pid"] == obj["reparented_to"] {
		t.Fatalf("orphan observed itself as the reaper: %v", obj)
	}
	return obj
}

func TestOrphanIsReapedByReaper(t *testing.T) {
	obj := runOrphan(t, true)
	wantField(t, obj, "reaped", true)
	wantField(t, obj, "final_state", "gone")
}

func TestOrphanZombieWhenNobodyReaps(t *testing.T) {
	obj := runOrphan(t, false)
	wantField(t, obj, "reaped", false)
	wantField(t, obj, "zombie_seen", true)
	wantField(t, obj, "final_state", "Z")
}

// TestSleepReapsAsPID1 starts `sleep` as PID 1 of a new PID namespace, puts an
// orphan into that namespace and wants it reaped.
func TestSleepReapsAsPID1(t *testing.T) {
	nsOut := filepath.Join(t.TempDir(), "ns.json")
	init := podprobe("sleep", "--ns-out", nsOut)
	init.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
	if err := init.Start(); err != nil {
		t.Skip("cannot start a PID namespace (needs root):", err)
	}
	d := &daemon{cmd: init}
	t.Cleanup(func() { init.Process.Kill(); init.Wait() })
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if data, err := os.ReadFile(nsOut); err == nil {
			var info map[string]any
			decode(data, &info)
			wantField(t, info, "pid", 1)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("sleep did not write --ns-out")
		}
	}

	// orphan-parent joins the namespace (setns on a thread of our own that is
	// thrown away afterwards), starts orphan-child and exits: the child is
	// re-parented to the namespace's init, our sleep.
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/pid", init.Process.Pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWPID); err != nil {
			errc <- err
			return
		}
		errc <- podprobe("orphan-parent", "--linger", "300ms").Run()
	}()
	if err := <-errc; err != nil {
		t.Fatal("orphan-parent in the PID namespace:", err)
	}
	childrenOfInit := func() []ps.Process {
		list, _ := ps.List()
		return slices.DeleteFunc(list, func(p ps.Process) bool { return p.PPID != init.Process.Pid })
	}
	if len(childrenOfInit()) == 0 {
		t.Fatal("the orphan was not re-parented to sleep")
	}
	for deadline := time.Now().Add(3 * time.Second); len(childrenOfInit()) > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("sleep as PID 1 left children %v", childrenOfInit())
		}
	}
	d.stop(t)
}

func TestSleepExitsOnSIGTERM(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		cmd := podprobe("sleep")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // let it install the handlers
		start := time.Now()
		cmd.Process.Signal(sig)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("sleep after %v: %v", sig, err)
		}
		if took := time.Since(start); took > time.Second {
			t.Fatalf("sleep took %v to exit on %v", took, sig)
		}
	}
}

// TestSleepExitsWhenTouched: a trigger file that predates the start does not
// end sleep (a restarted container waits for the next trigger); a later write
// ends it with --exit-code.
func TestSleepExitsWhenTouched(t *testing.T) {
	trigger := filepath.Join(t.TempDir(), "stop")
	if err := os.WriteFile(trigger, []byte("earlier"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	cmd := podprobe("sleep", "--exit-when", trigger, "--exit-code", "42")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		t.Fatalf("sleep ended on a trigger older than its start: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := os.WriteFile(trigger, []byte("now"), 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 42 {
			t.Fatalf("sleep after the trigger: %v, want exit status 42", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("sleep did not end within 2s of the trigger")
	}
}

func TestFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "evidence.txt")
	wantField(t, mustSucceed(t, "file", "stat", path), "exists", false)
	mustFail(t, "ENOENT", "file", "read", path)
	mustFail(t, "ENOENT", "file", "write", filepath.Join(dir, "missing-dir", "x"), "y")
	wantField(t, mustSucceed(t, "file", "write", path, "from init"), "written", "from init")
	wantField(t, mustSucceed(t, "file", "read", path), "content", "from init")
	runs := filepath.Join(dir, "runs")
	for range 2 {
		wantField(t, mustSucceed(t, "file", "append", runs, "ran"), "written", "ran")
	}
	wantField(t, mustSucceed(t, "file", "read", runs), "content", "ran\nran\n")
	st := mustSucceed(t, "file", "stat", path)
	wantField(t, st, "exists", true)
	wantField(t, st, "size", len("from init"))
	wantField(t, st, "mode", "-rw-r--r--")
	var sys syscall.Stat_t
	if err := syscall.Stat(path, &sys); err != nil {
		t.Fatal(err)
	}
	wantField(t, st, "inode", sys.Ino)
	wantField(t, st, "uid", sys.Uid)
	wantField(t, st, "gid", sys.Gid)
}

func TestFSType(t *testing.T) {
	got := mustSucceed(t, "fs-type", "/proc")
	wantField(t, got, "type", "proc")
	wantField(t, got, "magic", "0x9fa0")
	mustFail(t, "ENOENT", "fs-type", "/no/such/path")
}

func TestMounts(t *testing.T) {
	list, _ := mustSucceed(t, "mounts")["mounts"].([]any)
	for _, m := range list {
		if m := m.(map[string]any); m["target"] == "/proc" && m["fstype"] == "proc" {
			return
		}
	}
	t.Fatalf("no proc on /proc in %v", list)
}

func TestPS(t *testing.T) {
	list, _ := mustSucceed(t, "ps")["processes"].([]any)
	for _, p := range list {
		if p := p.(map[string]any); fmt.Sprint(p["pid"]) == strconv.Itoa(os.Getpid()) {
			wantField(t, p, "comm", filepath.Base(os.Args[0])[:min(15, len(filepath.Base(os.Args[0])))])
			if !strings.Contains(p["cmdline"].(string), filepath.Base(os.Args[0])) {
				t.Fatalf("cmdline %q", p["cmdline"])
			}
			return
		}
	}
	t.Fatalf("test process %d not in %v", os.Getpid(), list)
}

func TestHostname(t *testing.T) {
	want, _ := os.Hostname()
	wantField(t, mustSucceed(t, "hostname", "get"), "hostname", want)
}

func TestRootRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	os.WriteFile(path, []byte("via proc root"), 0o644)
	got := mustSucceed(t, "root-read", strconv.Itoa(os.Getpid()), path)
	wantField(t, got, "content", "via proc root")
	mustFail(t, "ENOENT", "root-read", strconv.Itoa(os.Getpid()), path+".missing")
}

func TestCgroup(t *testing.T) {
	got := mustSucceed(t, "cgroup")
	if v := fmt.Sprint(got["version"]); v != "1" && v != "2" {
		t.Fatalf("version %v", got)
	}
	if ino := fmt.Sprint(got["dir_inode"]); ino == "0" || ino == "<nil>" {
		t.Errorf("no cgroup directory inode in %v", got)
	}
	for _, key := range []string{"path", "dir", "memory_limit_bytes", "cpu_quota_us", "cpu_period_us"} {
		if _, ok := got[key]; !ok {
			t.Errorf("no %q in %v", key, got)
		}
	}
}

func TestAlloc(t *testing.T) {
	wantField(t, mustSucceed(t, "alloc", "16"), "allocated_mb", 16)
	trigger := filepath.Join(t.TempDir(), "go")
	waiting := start(t, "alloc", "1", "--when", trigger)
	select {
	case line := <-waiting.lines:
		t.Fatalf("alloc --when printed %q before %s existed", line, trigger)
	case <-time.After(300 * time.Millisecond):
	}
	if err := os.WriteFile(trigger, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	wantField(t, waiting.firstLine(t), "allocated_mb", 1)
	held := start(t, "alloc", "8", "--hold")
	wantField(t, held.firstLine(t), "allocated_mb", 8)
	held.stop(t)
}

func TestAddrs(t *testing.T) {
	list, _ := mustSucceed(t, "addrs")["interfaces"].([]any)
	for _, i := range list {
		if i := i.(map[string]any); i["loopback"] == true {
			if addrs := fmt.Sprint(i["addrs"]); !strings.Contains(addrs, "127.0.0.1/8") {
				t.Fatalf("loopback addrs %s", addrs)
			}
			return
		}
	}
	t.Fatalf("no loopback in %v", list)
}

// A batch gives each subcommand's result as that subcommand alone gives it,
// in order: a file written by one is read by the next, a failure is an
// observation (exit 1 with its errno), a usage error is that one's exit 2.
func TestBatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	calls := fmt.Sprintf(`[["file","write",%q,"batched"],["file","read",%q],["file","read",%q],["nope"]]`, path, path, path+".missing")
	got := mustSucceed(t, "batch", calls)
	results, ok := got["results"].([]any)
	if !ok || len(results) != 4 {
		t.Fatalf("want 4 results, got %v", got)
	}
	field := func(i int, key string) any { return results[i].(map[string]any)[key] }
	output := func(i int) map[string]any { o, _ := field(i, "output").(map[string]any); return o }
	if code := fmt.Sprint(field(0, "exit_code")); code != "0" {
		t.Errorf("write: exit %s: %v", code, results[0])
	}
	if c := output(1)["content"]; c != "batched" || fmt.Sprint(field(1, "exit_code")) != "0" {
		t.Errorf("read after the batched write: %v", results[1])
	}
	if e := output(2)["errno"]; e != "ENOENT" || fmt.Sprint(field(2, "exit_code")) != "1" {
		t.Errorf("read of a missing file: want exit 1 with ENOENT, got %v", results[2])
	}
	if fmt.Sprint(field(3, "exit_code")) != "2" || !strings.HasPrefix(fmt.Sprint(field(3, "stderr")), "podprobe: ") {
		t.Errorf("unknown subcommand: want exit 2 with a usage line, got %v", results[3])
	}
	for _, bad := range []string{"", "x", "[]", `[[]]`, `[["batch","[]"]]`} {
		if out := run(t, "batch", bad); out.code != 2 {
			t.Errorf("batch %q: want a usage error, got exit %d", bad, out.code)
		}
	}
}
