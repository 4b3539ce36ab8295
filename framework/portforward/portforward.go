// Package portforward dials a port inside a pod through the API server's
// portforward subresource, the way kubectl port-forward does, with client-go's
// SPDY port-forwarder: the suite's own client, no kubectl.
package portforward

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
	e2eframework "k8s.io/kubernetes/test/e2e/framework"

	"github.com/podsem/podsem/framework/probe"
)

// Timeout bounds the forwarder's start and the one exchange through it.
const Timeout = 30 * time.Second

// Echo forwards a local port to port of pod, sends payload as one line to the
// podprobe echo server listening there, and returns its answer as a
// probe.Dial (Sent, Echo and Server filled in), for the same evidence as a
// dial from inside the pod.
func Echo(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, port int, payload string) (probe.Dial, error) {
	d := probe.Dial{Proto: "tcp", Addr: fmt.Sprintf("%s/%s port-forward :%d", pod.Namespace, pod.Name, port), Sent: payload}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	local, stop, err := forward(ctx, f, pod, port)
	if err != nil {
		return d, err
	}
	defer stop()

	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", local)
	if err != nil {
		return d, fmt.Errorf("dialling the forwarded port %s: %w", local, err)
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	if _, err := io.WriteString(conn, payload+"\n"); err != nil {
		return d, fmt.Errorf("sending through the forwarded port: %w", err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return d, fmt.Errorf("reading the answer through the forwarded port (got %q): %w", line, err)
	}
	var reply struct {
		Echo     string `json:"echo"`
		Hostname string `json:"hostname"`
		PID      int    `json:"pid"`
		NetNS    string `json:"netns"`
	}
	if err := json.Unmarshal([]byte(line), &reply); err != nil {
		return d, fmt.Errorf("the answer through the forwarded port is no echo reply: %q: %w", line, err)
	}
	d.Result, d.Echo = "ok", reply.Echo
	d.Server.Hostname, d.Server.PID, d.Server.NetNS = reply.Hostname, reply.PID, reply.NetNS
	return d, nil
}

// forward starts a forwarder from an ephemeral port on 127.0.0.1 to port of
// pod and returns the local address and the function that stops it.
func forward(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, port int) (string, func(), error) {
	transport, upgrader, err := spdy.RoundTripperFor(f.ClientConfig())
	if err != nil {
		return "", nil, fmt.Errorf("port-forward transport: %w", err)
	}
	url := f.ClientSet.CoreV1().RESTClient().Post().
		Resource("pods").Namespace(pod.Namespace).Name(pod.Name).SubResource("portforward").URL()
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, url)
	stopCh, readyCh := make(chan struct{}), make(chan struct{})
	var out, errOut strings.Builder
	fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", port)}, stopCh, readyCh, &out, &errOut)
	if err != nil {
		return "", nil, fmt.Errorf("port-forward to %s/%s:%d: %w", pod.Namespace, pod.Name, port, err)
	}
	failed := make(chan error, 1)
	go func() { failed <- fw.ForwardPorts() }()
	stop := func() { close(stopCh) }
	select {
	case <-readyCh:
	case err := <-failed:
		return "", nil, fmt.Errorf("port-forward to %s/%s:%d ended before it was ready: %v (%s)", pod.Namespace, pod.Name, port, err, errOut.String())
	case <-ctx.Done():
		stop()
		return "", nil, fmt.Errorf("port-forward to %s/%s:%d not ready within %s: %s", pod.Namespace, pod.Name, port, Timeout, errOut.String())
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) != 1 {
		stop()
		return "", nil, fmt.Errorf("port-forward to %s/%s:%d: no local port (%v)", pod.Namespace, pod.Name, port, err)
	}
	return fmt.Sprintf("127.0.0.1:%d", ports[0].Local), stop, nil
}
