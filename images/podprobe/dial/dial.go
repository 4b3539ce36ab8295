// Package dial implements `podprobe dial`: one request to a `podprobe serve`
// echo server, classified as ok, refused, timeout, mismatch or error.
package dial

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/podsem/podsem/images/podprobe/internal/cli"
	"github.com/podsem/podsem/images/podprobe/serve"
)

var Command = &cli.Command{
	Name:    "dial",
	Args:    []string{"tcp|udp", "HOST:PORT"},
	Summary: "send a payload to a `serve` echo server; result is ok|refused|timeout|mismatch|error (exit 1 unless ok), local is the client's own address",
	Flags: []cli.Flag{
		{Name: "payload", Kind: cli.StringFlag, Value: "STR", Usage: "payload to send (default: random)"},
		{Name: "timeout", Kind: cli.DurationFlag, Default: "2s", Value: "DURATION", Usage: "for the whole exchange"},
	},
	Run: run,
}

// Server is who answered, as the echo server reports itself.
type Server struct {
	Hostname string `json:"hostname"`
	PID      int    `json:"pid"`
	NetNS    string `json:"netns"`
}

// Result is the JSON object of `podprobe dial`.
type Result struct {
	Proto  string `json:"proto"`
	Addr   string `json:"addr"`
	Result string `json:"result"`
	Sent   string `json:"sent"`
	// Local is the client's own address of the exchange: its ephemeral port
	// says which local port range the container's network namespace has.
	Local  string  `json:"local,omitempty"`
	Echo   *string `json:"echo,omitempty"`
	Server *Server `json:"server,omitempty"`
}

// udpResend is how often an unanswered datagram is sent again: the network
// may drop one, and the echo is idempotent.
const udpResend = 300 * time.Millisecond

func run(inv *cli.Invocation) (any, error) {
	proto, err := cli.ParseProto(inv.Args[0])
	if err != nil {
		return nil, err
	}
	addr := inv.Args[1]
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return nil, cli.Usagef("dial: address must be HOST:PORT, got %q", addr)
	}
	if n, err := cli.ParsePort(port); err != nil || n == 0 {
		return nil, cli.Usagef("dial: port must be a number 1-65535, got %q", port)
	}
	payload := inv.String("payload")
	if payload == "" {
		payload = randomPayload()
	}
	if strings.ContainsAny(payload, "\n") {
		return nil, cli.Usagef("dial: --payload must not contain a newline")
	}
	res := &Result{Proto: proto, Addr: addr, Sent: payload}
	deadline := time.Now().Add(inv.Duration("timeout"))

	var reply []byte
	if proto == "tcp" {
		reply, res.Local, err = exchangeTCP(addr, payload, deadline)
	} else {
		reply, res.Local, err = exchangeUDP(addr, payload, deadline)
	}
	if err != nil {
		return classify(res, err)
	}
	var answer serve.Reply
	if err := json.Unmarshal(reply, &answer); err != nil {
		res.Result = "mismatch"
		echo := strings.TrimSpace(string(reply))
		res.Echo = &echo
		return res, fmt.Errorf("reply is not a podprobe echo: %v", err)
	}
	res.Echo = &answer.Echo
	res.Server = &Server{Hostname: answer.Hostname, PID: answer.PID, NetNS: answer.NetNS}
	if answer.Echo != payload {
		res.Result = "mismatch"
		return res, fmt.Errorf("echo %q differs from the payload sent", answer.Echo)
	}
	res.Result = "ok"
	return res, nil
}

func exchangeTCP(addr, payload string, deadline time.Time) ([]byte, string, error) {
	d := net.Dialer{Deadline: deadline}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	conn.SetDeadline(deadline)
	if _, err := io.WriteString(conn, payload+"\n"); err != nil {
		return nil, local, err
	}
	line, err := bufio.NewReader(conn).ReadBytes('\n')
	if err != nil && (err != io.EOF || len(line) == 0) {
		return nil, local, err
	}
	return line, local, nil
}

// exchangeUDP uses a connected socket, so an ICMP port unreachable comes back
// as ECONNREFUSED on the next read instead of being ignored.
func exchangeUDP(addr, payload string, deadline time.Time) ([]byte, string, error) {
	d := net.Dialer{Deadline: deadline}
	conn, err := d.Dial("udp", addr)
	if err != nil {
		return nil, "", err
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	buf := make([]byte, 64<<10)
	for {
		if _, err := conn.Write([]byte(payload)); err != nil {
			return nil, local, err
		}
		wait := time.Now().Add(udpResend)
		if wait.After(deadline) {
			wait = deadline
		}
		conn.SetReadDeadline(wait)
		n, err := conn.Read(buf)
		if err == nil {
			return buf[:n], local, nil
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) || !time.Now().Before(deadline) {
			return nil, local, err
		}
	}
}

func classify(res *Result, err error) (*Result, error) {
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		res.Result = "refused"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, syscall.ETIMEDOUT),
		errors.As(err, &netErr) && netErr.Timeout():
		res.Result = "timeout"
		return res, cli.Fail("ETIMEDOUT", err)
	default:
		res.Result = "error"
	}
	return res, err
}

func randomPayload() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "podprobe-" + hex.EncodeToString(b)
}
