// Package accept is the accept loop of podprobe's long-running TCP servers
// (serve, report collect): each connection handled on its own goroutine, a
// transient accept error logged and retried, a closed listener the end.
package accept

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// retryDelay spaces accepts after an error (EMFILE, say), so a persistent one
// does not spin.
const retryDelay = 10 * time.Millisecond

// Loop accepts connections on ln until it is closed and hands each to handle
// on a goroutine of its own; who names the server in error messages.
func Loop(ln net.Listener, who string, handle func(net.Conn)) {
	for {
		conn, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: accept: %v\n", who, err)
			time.Sleep(retryDelay)
			continue
		}
		go handle(conn)
	}
}
