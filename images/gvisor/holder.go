package gvisor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Files in an app container's state directory.
const (
	holderPID    = "holder.pid"
	holderSocket = "holder.sock"
	startedMark  = "started"
	sandboxFile  = "sandbox"
)

// spawnHolder starts the holder of app container id: a copy of the wrapper
// that keeps this process's stdio (the container's, from the shim), listens on
// dir/holder.sock for the start request, and is left to the shim, which reaps
// it as the container's process. It returns the holder's PID.
func spawnHolder(id, dir, sandboxID string, global []string) (int, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	if sandboxID != "" {
		if err := os.WriteFile(filepath.Join(dir, sandboxFile), []byte(sandboxID), 0o600); err != nil {
			return 0, err
		}
	}
	sock := filepath.Join(dir, holderSocket)
	os.Remove(sock)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		return 0, err
	}
	// The holder owns the socket from now on; closing our copy must not unlink it.
	ln.SetUnlinkOnClose(false)
	defer ln.Close()
	lf, err := ln.File()
	if err != nil {
		return 0, err
	}
	defer lf.Close()
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(self, append([]string{holderArg, id, dir, "--"}, global...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{lf}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	pid := cmd.Process.Pid
	cmd.Process.Release()
	if err := writeFileAtomic(filepath.Join(dir, holderPID), []byte(strconv.Itoa(pid))); err != nil {
		return pid, err
	}
	logf("%s: holder %d", id, pid)
	return pid, nil
}

// requestStart asks the holder in dir to start its container, and returns
// runsc start's exit status.
func requestStart(dir string) (int, error) {
	conn, err := net.Dial("unix", filepath.Join(dir, holderSocket))
	if err != nil {
		return 0, fmt.Errorf("the container's holder process does not answer: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("start\n")); err != nil {
		return 0, err
	}
	reply, err := readLine(conn)
	if err != nil {
		return 0, fmt.Errorf("no answer from the container's holder process: %w", err)
	}
	switch {
	case reply == "ok":
		return 0, nil
	case strings.HasPrefix(reply, "fail "):
		code, err := strconv.Atoi(strings.TrimPrefix(reply, "fail "))
		if err != nil || code == 0 {
			code = 1
		}
		return code, nil
	}
	return 0, fmt.Errorf("unexpected answer %q from the container's holder process", reply)
}

// holderMain is the holder: argv is id, state dir, "--", runsc global options.
// It exits with the container's exit status (128+signal when killed), 128 when
// runsc start fails, 255 when the container's status cannot be had.
func holderMain(argv []string) int {
	if len(argv) < 3 || argv[2] != "--" {
		fmt.Fprintln(os.Stderr, "runsc-wrapper: internal holder role called wrongly")
		return 2
	}
	id, dir, global := argv[0], argv[1], argv[3:]
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)

	f := os.NewFile(3, "holder.sock")
	ln, err := net.FileListener(f)
	f.Close()
	if err != nil {
		logf("%s: holder: %v", id, err)
		return 255
	}
	conn := awaitStart(ln)
	ln.Close()
	os.Remove(filepath.Join(dir, holderSocket))
	os.WriteFile(filepath.Join(dir, startedMark), nil, 0o600)

	code := run(append(append([]string(nil), global...), "start", id), os.Stdin, os.Stdout, os.Stderr)
	if code != 0 {
		logf("%s: holder: runsc start exited %d", id, code)
		fmt.Fprintf(conn, "fail %d\n", code)
		conn.Close()
		return 128
	}
	fmt.Fprintln(conn, "ok")
	conn.Close()
	// The container has its stdio now; the holder keeps none of it open.
	if null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0); err == nil {
		for fd := 0; fd <= 2; fd++ {
			unix.Dup3(int(null.Fd()), fd, 0)
		}
		null.Close()
	}

	status, err := waitContainer(global, id)
	if err != nil {
		logf("%s: holder: %v", id, err)
		return 255
	}
	logf("%s: holder: container exited %d", id, status)
	return status
}

// awaitStart accepts connections until one asks for start.
func awaitStart(ln net.Listener) net.Conn {
	for {
		conn, err := ln.Accept()
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, err := readLine(conn)
		if err == nil && line == "start" {
			conn.SetReadDeadline(time.Time{})
			return conn
		}
		conn.Close()
	}
}

// waitContainer runs runsc wait and returns the container's exit status.
func waitContainer(global []string, id string) (int, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(Runsc, append(append([]string(nil), global...), "wait", id)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("runsc wait: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	var res struct {
		ExitStatus *int `json:"exitStatus"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil || res.ExitStatus == nil {
		return 0, fmt.Errorf("runsc wait: unexpected output %q", stdout.String())
	}
	return *res.ExitStatus & 0xff, nil
}

// holder is an app container's holder process, as its state directory tells.
type holder struct {
	pid     int
	started bool
}

// loadHolder reads the state directory; nil when it names no live holder of id.
func loadHolder(dir, id string) *holder {
	raw, err := os.ReadFile(filepath.Join(dir, holderPID))
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || pid <= 0 || !isHolder(pid, id) {
		return nil
	}
	_, err = os.Stat(filepath.Join(dir, startedMark))
	return &holder{pid: pid, started: err == nil}
}

// holderContainer returns the container a live holder process pid stands for.
func holderContainer(pid int) (string, bool) {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return "", false
	}
	args := strings.Split(string(cmdline), "\x00")
	if len(args) < 3 || args[1] != holderArg || isZombie(pid) {
		return "", false
	}
	return args[2], true
}

// isHolder reports whether pid is a live (not zombie) holder of container id,
// so that a recycled PID is never signalled.
func isHolder(pid int, id string) bool {
	got, ok := holderContainer(pid)
	return ok && got == id
}

func isZombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z' || stat[i+2] == 'X'
}

func (h *holder) signal(sig syscall.Signal) {
	if sig != 0 {
		syscall.Kill(h.pid, sig)
	}
}

// stop waits up to grace for the holder to end on its own, then sends sig and
// waits for it to be gone (a zombie counts as gone: the shim reaps it).
func (h *holder) stop(sig syscall.Signal, grace time.Duration) {
	gone := func() bool { return isZombie(h.pid) }
	if h.started {
		for deadline := time.Now().Add(grace); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if gone() {
				return
			}
		}
	}
	syscall.Kill(h.pid, sig)
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if gone() {
			return
		}
	}
	logf("holder %d did not end after signal %d", h.pid, sig)
}

// sweepSandbox removes, when a pod's sandbox container is deleted, what is left
// of its app containers' state (their holders end with the sandbox).
func sweepSandbox(base, sandboxID string) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		dir := filepath.Join(base, e.Name())
		raw, err := os.ReadFile(filepath.Join(dir, sandboxFile))
		if err != nil || string(raw) != sandboxID {
			continue
		}
		if h := loadHolder(dir, e.Name()); h != nil {
			h.stop(syscall.SIGKILL, 0)
		}
		logf("%s: removing the state of container %s of deleted sandbox %s", e.Name(), e.Name(), sandboxID)
		os.RemoveAll(dir)
	}
}
