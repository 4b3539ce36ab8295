package sandbox

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/podsem/podsem/images/podprobe/internal/cli"
	"github.com/podsem/podsem/images/podprobe/internal/lifecycle"
	"github.com/podsem/podsem/images/podprobe/serve"
	"golang.org/x/sys/unix"
)

// HolderCommand is the background process `sandbox hold` starts. Its
// listening socket lives in the held network namespace and keeps it alive:
// the namespace outlives its sandbox, so its inode number is not reused for
// the next one, and a container that is (wrongly) still in it reaches the
// holder's server.
var HolderCommand = &cli.Command{
	Name:    "sandbox-holder",
	Hidden:  true,
	Args:    []string{"PID", "PORT"},
	Summary: "internal: enter PID's network namespace, echo on 127.0.0.1:PORT there, print one line, live --for",
	Flags:   []cli.Flag{{Name: "for", Kind: cli.DurationFlag, Default: "3m", Value: "DURATION", Usage: "how long to live at most"}},
	Run:     runHolder,
}

// maxRequest bounds a request line, as serve does.
const maxRequest = 64 << 10

func runHolder(inv *cli.Invocation) (any, error) {
	pid, err := cli.ParsePID(inv.Args[0])
	if err != nil {
		return nil, err
	}
	port, err := cli.ParsePort(inv.Args[1])
	if err != nil {
		return nil, err
	}
	terminated := lifecycle.Terminated()
	res := HoldResult{HolderPID: os.Getpid(), PID: pid}
	ln, netns, err := listenIn(pid, port)
	if err != nil {
		return res, err
	}
	res.NetNS, res.Listening = netns, ln.Addr().String()
	// The first and only line: its reader, `sandbox hold`, exits after it.
	if err := inv.Emit(res, nil); err != nil {
		return nil, err
	}
	go echo(ln, netns)
	select {
	case <-terminated:
	case <-time.After(inv.Duration("for")):
	}
	ln.Close()
	return nil, nil
}

// listenIn listens on 127.0.0.1:port in pid's network namespace. A thread
// enters the namespace for the socket call and is never let go: it ends with
// its goroutine, so nothing else ever runs in that namespace.
func listenIn(pid, port int) (net.Listener, string, error) {
	type outcome struct {
		ln    net.Listener
		netns string
		err   error
	}
	done := make(chan outcome, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/net", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- outcome{err: fmt.Errorf("opening the network namespace of process %d: %w", pid, err)}
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			done <- outcome{err: fmt.Errorf("entering the network namespace of process %d: %w", pid, err)}
			return
		}
		netns, _ := os.Readlink("/proc/thread-self/ns/net")
		ln, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		done <- outcome{ln, netns, err}
	}()
	o := <-done
	return o.ln, o.netns, o.err
}

// echo answers each request line as `podprobe serve` does, naming the held
// namespace, so `podprobe dial` reads the answer.
func echo(ln net.Listener, netns string) {
	hostname, _ := os.Hostname()
	for {
		conn, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go func() {
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			line, err := bufio.NewReader(io.LimitReader(conn, maxRequest)).ReadString('\n')
			if err != nil && (err != io.EOF || line == "") {
				return
			}
			reply, _ := json.Marshal(serve.Reply{Echo: strings.TrimSuffix(line, "\n"), Hostname: hostname, PID: os.Getpid(), NetNS: netns})
			conn.Write(append(reply, '\n'))
		}()
	}
}
