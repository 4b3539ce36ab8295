// Package report implements `podprobe report`: a collector in one pod that
// records what other pods tell it, each message with the time the collector
// received it and its place in the order of arrival, and the reporters: a
// one-shot `send` (a preStop hook), and `on-term`, an entrypoint that reports
// its start, the signal that ends it and its exit. Observed from outside, a
// dying pod's lifecycle leaves a record its own death cannot erase.
//
// Protocol (TCP): the reporter sends one line, the message; the collector
// records it and answers with the record as one JSON line. A reporter that
// has the answer knows its message is recorded.
package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/podsem/podsem/images/podprobe/internal/accept"
	"github.com/podsem/podsem/images/podprobe/internal/cli"
	"github.com/podsem/podsem/images/podprobe/internal/lifecycle"
	"github.com/podsem/podsem/images/podprobe/sendsignal"
	"golang.org/x/sys/unix"
)

var Command = &cli.Command{
	Name: "report",
	Modes: []*cli.Command{
		{Name: "collect", Args: []string{"PORT"}, Run: collect,
			Summary: "collector (long-running): record each message received on TCP PORT as a JSON line {\"seq\",\"unix_nano\",\"time\",\"from\",\"message\"} in --record PATH (created once listening), answer with the record; exit 0 on SIGTERM/SIGINT",
			Flags:   []cli.Flag{{Name: "record", Kind: cli.StringFlag, Value: "PATH", Usage: "the file of records, one JSON line each", Required: true}}},
		{Name: "send", Args: []string{"HOST:PORT", "MESSAGE"}, Run: send,
			Summary: "send MESSAGE to a collector and wait for its record → {\"sent\",\"record\"}; retried until --timeout",
			Flags: []cli.Flag{
				{Name: "timeout", Kind: cli.DurationFlag, Default: "5s", Value: "DURATION", Usage: "for the whole exchange, retries included"},
				{Name: "linger", Kind: cli.DurationFlag, Default: "0s", Value: "DURATION", Usage: "stay this long after the record came back (a preStop hook that takes time)"},
			}},
		{Name: "list", Args: []string{"PATH"}, Run: list,
			Summary: "the records in a collector's --record file → {\"records\":[...]}"},
		{Name: "on-term", Args: []string{"HOST:PORT", "NAME"}, Run: onTerm,
			Summary: "entrypoint (long-running): report \"start NAME\", then on SIGTERM (SIGINT) \"sigterm NAME\" (\"sigint NAME\"), wait --linger, report \"exit NAME\" and exit 0",
			Flags: []cli.Flag{
				{Name: "linger", Kind: cli.DurationFlag, Default: "0s", Value: "DURATION", Usage: "how long to stay between the signal and the exit"},
				{Name: "timeout", Kind: cli.DurationFlag, Default: "5s", Value: "DURATION", Usage: "for each report, retries included"},
			}},
	},
}

// Record is one message as the collector received it.
type Record struct {
	// Seq is the place of the message in the order of arrival, from 1.
	Seq int `json:"seq"`
	// UnixNano and Time are the collector's clock when it received the message.
	UnixNano int64  `json:"unix_nano"`
	Time     string `json:"time"`
	From     string `json:"from"`
	Message  string `json:"message"`
}

// maxMessage bounds a message line.
const maxMessage = 4 << 10

type started struct {
	Listening string `json:"listening"`
	Record    string `json:"record"`
}

func collect(inv *cli.Invocation) (any, error) {
	port, err := cli.ParsePort(inv.Args[0])
	if err != nil {
		return nil, err
	}
	path := inv.String("record")
	terminated := lifecycle.Terminated()
	if os.Getpid() == 1 {
		lifecycle.ReapOrphans()
	}
	// Both families where the node has them: a pod's IP may be either.
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		return started{Record: path}, err
	}
	// Created only now, so that its presence says the collector listens (the
	// fixture's readiness probe lists it).
	file, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return started{Record: path}, err
	}
	c := &collector{file: file}
	go accept.Loop(ln, "podprobe report collect", c.handle)
	if err := inv.Emit(started{Listening: ln.Addr().String(), Record: path}, nil); err != nil {
		return nil, err
	}
	<-terminated
	ln.Close()
	return nil, nil
}

// collector numbers and writes the records one at a time, so the order of
// the file and of seq is the order of arrival.
type collector struct {
	mu   sync.Mutex
	seq  int
	file *os.File
}

func (c *collector) handle(conn net.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(io.LimitReader(conn, maxMessage)).ReadString('\n')
	if err != nil && (err != io.EOF || line == "") {
		return
	}
	rec, err := c.record(strings.TrimSuffix(line, "\n"), conn.RemoteAddr().String())
	if err != nil {
		fmt.Fprintf(os.Stderr, "podprobe report collect: %v\n", err)
		return // no answer: the reporter tries again
	}
	data, _ := json.Marshal(rec)
	conn.Write(append(data, '\n'))
}

func (c *collector) record(message, from string) (Record, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	rec := Record{Seq: c.seq + 1, UnixNano: now.UnixNano(), Time: now.UTC().Format(time.RFC3339Nano), From: from, Message: message}
	data, err := json.Marshal(rec)
	if err != nil {
		return rec, err
	}
	if _, err := c.file.Write(append(data, '\n')); err != nil {
		return rec, fmt.Errorf("writing the record: %w", err)
	}
	c.seq++
	return rec, nil
}

type sent struct {
	Sent   string  `json:"sent"`
	Record *Record `json:"record,omitempty"`
}

func send(inv *cli.Invocation) (any, error) {
	addr, err := parseAddr(inv.Args[0])
	if err != nil {
		return nil, err
	}
	message := inv.Args[1]
	if strings.ContainsAny(message, "\n") {
		return nil, cli.Usagef("report send: MESSAGE must not contain a newline")
	}
	res := sent{Sent: message}
	rec, err := Send(addr, message, inv.Duration("timeout"))
	if err != nil {
		return res, err
	}
	res.Record = &rec
	time.Sleep(inv.Duration("linger"))
	return res, nil
}

// retryEvery spaces the attempts of Send.
const retryEvery = 200 * time.Millisecond

// Send delivers message to the collector at addr and returns its record,
// trying again until timeout: a reporter may start before the network does.
func Send(addr, message string, timeout time.Duration) (Record, error) {
	deadline := time.Now().Add(timeout)
	for {
		rec, err := exchange(addr, message, deadline)
		if err == nil {
			return rec, nil
		}
		if time.Now().Add(retryEvery).After(deadline) {
			return rec, cli.Fail("ETIMEDOUT", fmt.Errorf("no record of %q from %s within %s: %w", message, addr, timeout, err))
		}
		time.Sleep(retryEvery)
	}
}

func exchange(addr, message string, deadline time.Time) (Record, error) {
	attempt := time.Now().Add(time.Second)
	if attempt.After(deadline) {
		attempt = deadline
	}
	d := net.Dialer{Deadline: attempt}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return Record{}, err
	}
	defer conn.Close()
	conn.SetDeadline(attempt)
	if _, err := conn.Write([]byte(message + "\n")); err != nil {
		return Record{}, err
	}
	line, err := bufio.NewReader(io.LimitReader(conn, maxMessage*2)).ReadString('\n')
	if err != nil {
		return Record{}, fmt.Errorf("reading the record: %w", err)
	}
	var rec Record
	if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.Message != message {
		return Record{}, fmt.Errorf("the collector answered %q, not the record of %q", strings.TrimSpace(line), message)
	}
	return rec, nil
}

func parseAddr(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return "", cli.Usagef("report: address must be HOST:PORT, got %q", s)
	}
	if n, err := cli.ParsePort(port); err != nil || n == 0 {
		return "", cli.Usagef("report: port must be a number 1-65535, got %q", port)
	}
	return s, nil
}

type listed struct {
	Records []Record `json:"records"`
}

func list(inv *cli.Invocation) (any, error) {
	data, err := os.ReadFile(inv.Args[0])
	if err != nil {
		return nil, err
	}
	res := listed{Records: []Record{}}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var rec Record
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			return res, fmt.Errorf("record %q: %w", line, err)
		}
		res.Records = append(res.Records, rec)
	}
	return res, nil
}

// onTerm runs as a container's PID 1. Each report is best effort, logged on
// stderr when it fails: the entrypoint must end on SIGTERM whatever the
// network does.
func onTerm(inv *cli.Invocation) (any, error) {
	addr, err := parseAddr(inv.Args[0])
	if err != nil {
		return nil, err
	}
	name := inv.Args[1]
	if strings.ContainsAny(name, " \n") {
		return nil, cli.Usagef("report on-term: NAME must be one word")
	}
	timeout := inv.Duration("timeout")
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, unix.SIGTERM, unix.SIGINT)
	if os.Getpid() == 1 {
		lifecycle.ReapOrphans()
	}
	report := func(event string) {
		if _, err := Send(addr, event+" "+name, timeout); err != nil {
			fmt.Fprintf(os.Stderr, "podprobe report on-term: %v\n", err)
		}
	}
	// The start report must not hold up the signal's.
	go report("start")
	sig := <-signals
	report(strings.ToLower(sendsignal.Name(sig.(unix.Signal))))
	time.Sleep(inv.Duration("linger"))
	report("exit")
	return nil, nil
}
