package pod

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	v1 "k8s.io/api/core/v1"
	e2eframework "k8s.io/kubernetes/test/e2e/framework"
	admissionapi "k8s.io/pod-security-admission/api"

	"github.com/podsem/podsem/framework/pods"
	"github.com/podsem/podsem/framework/portforward"
	"github.com/podsem/podsem/framework/probe"
	"github.com/podsem/podsem/framework/spec"
)

const (
	// net-pair serves TCP on tcpPort in container a and UDP on udpPort in container b.
	tcpPort = "8080"
	udpPort = "8081"
	// freePort is bound by nobody in the fixtures.
	freePort = "8090"
	// net-forward's server port, bound to 127.0.0.1 in container a.
	forwardPort = 8082
)

var _ = ginkgo.Describe("network", spec.Takes(10), ginkgo.Ordered, ginkgo.ContinueOnFailure, func() {
	f := spec.SharedFramework("net", admissionapi.LevelBaseline)
	var pair, other *v1.Pod

	ginkgo.BeforeAll(func(ctx context.Context) {
		started, neighbour := pods.StartBesideNeighbour(ctx, f, pods.Load("net-pair"))
		pair, other = started[0], neighbour
	})

	spec.It("NET-01", func(ctx context.Context) {
		echoesOverLoopback(ctx, f, pair, "a", "b", "tcp", tcpPort, "net01")
	})

	spec.It("NET-02", func(ctx context.Context) {
		echoesOverLoopback(ctx, f, pair, "b", "a", "udp", udpPort, "net02")
	})

	spec.It("NET-03", func(ctx context.Context) {
		var a, b probe.Addrs
		probe.Into(ctx, f, pair, "a", &a, "addrs")
		probe.Into(ctx, f, pair, "b", &b, "addrs")
		gomega.Expect(interfaceSet(b)).To(gomega.Equal(interfaceSet(a)), "containers a and b see the same interfaces and addresses")
		gomega.Expect(pods.IPs(pair)).NotTo(gomega.BeEmpty(), "the pod has an IP")
		addrs := addressesOf(a)
		for _, ip := range pods.IPs(pair) {
			gomega.Expect(addrs).To(gomega.ContainElement(ip), "pod IP %s is an address inside the containers", ip)
		}
	})

	spec.It("NET-04", func(ctx context.Context) {
		var held probe.Bind
		r := probe.Run(ctx, f, pair, "b", "bind", "tcp", tcpPort)
		r.Decode(&held)
		gomega.Expect(held.Bound).To(gomega.BeFalse(), "container b must not bind TCP %s, which container a holds: %s", tcpPort, r.Describe())
		gomega.Expect(held.Errno).To(gomega.Equal("EADDRINUSE"), r.Describe())
		// The same call on a port nobody holds succeeds: the failure above is the
		// shared port space, not a container unable to bind at all.
		var free probe.Bind
		probe.Into(ctx, f, pair, "b", &free, "bind", "tcp", freePort)
		gomega.Expect(free.Bound).To(gomega.BeTrue())
	})

	spec.It("NET-05", func(ctx context.Context) {
		var d probe.Dial
		r := probe.Run(ctx, f, other, "main", "dial", "tcp", "127.0.0.1:"+tcpPort, "--payload", spec.Token("net05"))
		r.Decode(&d)
		gomega.Expect(d.Result).To(gomega.Equal("refused"), "another pod's 127.0.0.1:%s must not reach the server of pod %s: %s", tcpPort, pair.Name, r.Describe())
		// Positive control: the same dial from inside the pod does reach it.
		var in probe.Dial
		probe.Into(ctx, f, pair, "b", &in, "dial", "tcp", "127.0.0.1:"+tcpPort)
		gomega.Expect(in.Result).To(gomega.Equal("ok"))
		// Evidence only: sandboxed runtimes number namespaces per sandbox, so equal
		// inodes in two pods prove nothing there; the refused dial is the proof.
		probe.Run(ctx, f, pair, "a", "ns")
		probe.Run(ctx, f, other, "main", "ns")
		gomega.Expect(pods.IPs(other)).NotTo(gomega.BeEmpty(), "the other pod has an IP")
		for _, ip := range pods.IPs(other) {
			gomega.Expect(pods.IPs(pair)).NotTo(gomega.ContainElement(ip), "the other pod has its own IP")
		}
	})
})

var _ = ginkgo.Describe("network: port-forward", spec.Takes(4), func() {
	f := spec.Framework("net-forward", admissionapi.LevelBaseline)

	spec.It("NET-06", func(ctx context.Context) {
		pod := pods.Start(ctx, f, pods.Load("net-forward"))[0]
		b := nsOf(ctx, f, pod, "b")
		payload := spec.Token("net06")
		d, err := portforward.Echo(ctx, f, pod, forwardPort, payload)
		ginkgo.AddReportEntry("port-forward to "+pod.Name, fmt.Sprintf("%+v (err %v)", d, err), ginkgo.ReportEntryVisibilityFailureOrVerbose)
		e2eframework.ExpectNoError(err, "port-forward through the API server to %s:%d", pod.Name, forwardPort)
		gomega.Expect(d.Echo).To(gomega.Equal(payload), "the payload comes back intact through the port-forward")
		gomega.Expect(d.Server.NetNS).To(gomega.Equal(b.Namespace("net")), "the server answers from the pod's network namespace, container b's too")
		gomega.Expect(d.Server.Hostname).To(gomega.Equal(pod.Name), "with the pod's hostname")
		// Control, after the semantic so that it does not mask it: the server
		// listens on 127.0.0.1 only. Even from inside the pod, its IP does not
		// reach it; only the loopback of the pod's network namespace does.
		for _, ip := range pods.IPs(pod) {
			var d probe.Dial
			r := probe.Run(ctx, f, pod, "b", "dial", "tcp", net.JoinHostPort(ip, strconv.Itoa(forwardPort)))
			r.Decode(&d)
			gomega.Expect(d.Result).To(gomega.Equal("refused"), "the server of container a is bound to 127.0.0.1 only: the pod IP %s does not reach it: %s", ip, r.Describe())
		}
	})
})

// echoesOverLoopback proves that client reaches the proto server in container
// server of pod on 127.0.0.1:port, the payload coming back intact from that server.
func echoesOverLoopback(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, server, client, proto, port, tag string) {
	ginkgo.GinkgoHelper()
	var srv probe.NS
	probe.Into(ctx, f, pod, server, &srv, "ns")
	var d probe.Dial
	r := probe.Run(ctx, f, pod, client, "dial", proto, "127.0.0.1:"+port, "--payload", spec.Token(tag))
	r.Decode(&d)
	gomega.Expect(d.Result).To(gomega.Equal("ok"), "container %s dialling 127.0.0.1:%s (%s, served by container %s): %s", client, port, proto, server, r.Describe())
	gomega.Expect(d.Echo).To(gomega.Equal(d.Sent), "the payload came back intact")
	gomega.Expect(d.Server.NetNS).To(gomega.Equal(srv.Namespace("net")), "the answer came from the server in container %s's network namespace", server)
}

// interfaceSet is every interface as "name addr,addr" (sorted), for comparison.
func interfaceSet(a probe.Addrs) []string {
	var out []string
	for _, i := range a.Interfaces {
		addrs := slices.Clone(i.Addrs)
		slices.Sort(addrs)
		out = append(out, i.Name+" "+i.MAC+" "+strings.Join(addrs, ","))
	}
	slices.Sort(out)
	return out
}

// addressesOf lists the IPs of every interface, without prefix lengths.
func addressesOf(a probe.Addrs) []string {
	var out []string
	for _, i := range a.Interfaces {
		for _, cidr := range i.Addrs {
			ip, _, _ := strings.Cut(cidr, "/")
			out = append(out, ip)
		}
	}
	return out
}
