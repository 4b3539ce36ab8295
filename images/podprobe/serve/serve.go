// Package serve implements `podprobe serve`: a TCP or UDP echo server whose
// replies also say who answered (hostname, pid, network namespace), so a client
// can tell which container or pod it reached.
//
// Protocol: TCP, the client sends one line and gets one JSON line back, then
// the connection is closed; UDP, each datagram gets one JSON datagram back.
package serve

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/podsem/podsem/images/podprobe/internal/accept"
	"github.com/podsem/podsem/images/podprobe/internal/cli"
	"github.com/podsem/podsem/images/podprobe/internal/lifecycle"
	"github.com/podsem/podsem/images/podprobe/ns"
)

// Reply is the server's answer to one request.
type Reply struct {
	Echo     string `json:"echo"`
	Hostname string `json:"hostname"`
	PID      int    `json:"pid"`
	NetNS    string `json:"netns"`
}

// maxRequest bounds a request line or datagram.
const maxRequest = 64 << 10

var Command = &cli.Command{
	Name:    "serve",
	Args:    []string{"tcp|udp", "PORT"},
	Summary: "echo server (long-running): prints {\"listening\",\"proto\"}, answers each line/datagram with {\"echo\",\"hostname\",\"pid\",\"netns\"}, exits 0 on SIGTERM/SIGINT",
	Flags:   []cli.Flag{{Name: "addr", Kind: cli.StringFlag, Default: "0.0.0.0", Value: "IP", Usage: "address to listen on"}},
	Run:     run,
}

type started struct {
	Listening string `json:"listening"`
	Proto     string `json:"proto"`
}

func run(inv *cli.Invocation) (any, error) {
	ep, err := cli.ParseEndpoint(inv)
	if err != nil {
		return nil, err
	}
	proto, ip := ep.Proto, ep.IP
	network := proto
	if ip.To4() != nil {
		network += "4" // a literal 0.0.0.0 should not become a dual-stack [::] socket
	}
	addr := ep.Addr()

	terminated := lifecycle.Terminated()
	if os.Getpid() == 1 {
		lifecycle.ReapOrphans()
	}
	identity := newIdentity()

	var closer io.Closer
	var listening net.Addr
	if proto == "tcp" {
		ln, err := net.Listen(network, addr)
		if err != nil {
			return started{Listening: addr, Proto: proto}, err
		}
		go serveTCP(ln, identity)
		closer, listening = ln, ln.Addr()
	} else {
		conn, err := net.ListenPacket(network, addr)
		if err != nil {
			return started{Listening: addr, Proto: proto}, err
		}
		go serveUDP(conn, identity)
		closer, listening = conn, conn.LocalAddr()
	}
	if err := inv.Emit(started{Listening: listening.String(), Proto: proto}, nil); err != nil {
		return nil, err
	}
	<-terminated
	closer.Close()
	return nil, nil
}

type identity struct {
	pid   int
	netns string
}

func newIdentity() identity {
	netns, _ := ns.Link("net")
	return identity{pid: os.Getpid(), netns: netns}
}

func (id identity) reply(payload string) []byte {
	hostname, _ := os.Hostname() // per request: `hostname set` may change it
	data, _ := json.Marshal(Reply{Echo: payload, Hostname: hostname, PID: id.pid, NetNS: id.netns})
	return append(data, '\n')
}

func serveTCP(ln net.Listener, id identity) {
	accept.Loop(ln, "podprobe serve", func(conn net.Conn) {
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReaderSize(io.LimitReader(conn, maxRequest), 4096).ReadString('\n')
		if err != nil && (err != io.EOF || line == "") {
			return
		}
		conn.Write(id.reply(strings.TrimSuffix(line, "\n")))
	})
}

func serveUDP(conn net.PacketConn, id identity) {
	buf := make([]byte, maxRequest)
	for {
		n, from, err := conn.ReadFrom(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "podprobe serve: read: %v\n", err)
			continue
		}
		conn.WriteTo(id.reply(strings.TrimSuffix(string(buf[:n]), "\n")), from)
	}
}
