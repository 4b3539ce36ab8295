package pod

import (
	"context"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	v1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	e2eframework "k8s.io/kubernetes/test/e2e/framework"
	admissionapi "k8s.io/pod-security-admission/api"

	"github.com/podsem/podsem/framework/pods"
	"github.com/podsem/podsem/framework/probe"
	"github.com/podsem/podsem/framework/spec"
	"github.com/podsem/podsem/framework/timing"
)

const (
	// policyTimeout bounds how long a new NetworkPolicy may take to be in
	// force: an enforcer programs the node when it sees the policy (kube-router:
	// within a second or two, measured).
	policyTimeout = 20 * time.Second
	// policyDialTimeout bounds one dial that a policy may be dropping.
	policyDialTimeout = "1s"
	// net-policy's servers: a on policyPortA, b on policyPortB; the peer's on policyPortA.
	policyPortA, policyPortB = "8080", "8081"
	roleLabel                = "podsem-role"
)

var _ = ginkgo.Describe("network: NetworkPolicy", spec.Takes(13), func() {
	f := spec.Framework("net-policy", admissionapi.LevelBaseline)

	spec.It("NET-08", func(ctx context.Context) {
		// The subject under the RuntimeClass under test; the client and the
		// canary are the suite's tools, under the cluster's default handler, so
		// a runtime's fault can never pass for the cluster's enforcement.
		canary := peerPod("net-policy-canary", "canary")
		started := pods.Start(ctx, f, pods.Load("net-policy"), peerPod("net-policy-peer", "client"), canary)
		guarded, client, canary := started[0], started[1], started[2]
		ip, clientIP, canaryIP := firstIP(guarded), firstIP(client), firstIP(canary)
		toA, toB := net.JoinHostPort(ip, policyPortA), net.JoinHostPort(ip, policyPortB)

		// No policy: the client reaches both containers' servers.
		for _, addr := range []string{toA, toB} {
			d := dialOnce(ctx, f, client, "main", addr)
			gomega.Expect(d.Result).To(gomega.Equal("ok"), "with no policy, the client reaches %s: %+v", addr, d)
		}

		// Does the cluster enforce NetworkPolicy at all? A deny-all ingress
		// policy on the canary must stop the client's dial to it.
		applyPolicy(ctx, f, "deny-canary", "canary", networkingv1.PolicyTypeIngress, nil, nil)
		toCanary := net.JoinHostPort(canaryIP, policyPortA)
		if d, ok := awaitDial(ctx, f, client, "main", toCanary, blocked, "blocked by the canary's deny-all policy"); !ok {
			spec.NotOffered(fmt.Sprintf("the cluster does not enforce NetworkPolicy: a deny-all ingress policy on pod %s did not stop a dial to it within %s (%s: %s)",
				canary.Name, policyTimeout, toCanary, d.Result))
		}

		// Ingress from the labelled client, to container a's port only.
		port := intstr.Parse(policyPortA)
		applyPolicy(ctx, f, "client-to-a", "guarded", networkingv1.PolicyTypeIngress, []networkingv1.NetworkPolicyIngressRule{{
			From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{roleLabel: "client"}}}},
			Ports: []networkingv1.NetworkPolicyPort{{Port: &port}},
		}}, nil)
		d, ok := awaitDial(ctx, f, client, "main", toB, blocked, "container b's port blocked by the ingress policy")
		gomega.Expect(ok).To(gomega.BeTrue(), "the ingress policy that allows only port %s blocks the client's dial to container b's %s within %s: %+v", policyPortA, toB, policyTimeout, d)
		d = dialOnce(ctx, f, client, "main", toA)
		gomega.Expect(d.Result).To(gomega.Equal("ok"), "the policy still lets the labelled client reach container a's port %s: %+v", toA, d)
		d = dialOnce(ctx, f, canary, "main", toA)
		gomega.Expect(blocked(d)).To(gomega.BeTrue(), "a pod the policy does not select as a peer (the canary) is blocked from %s: %+v", toA, d)

		// Egress denied for the whole pod: no container dials out, while
		// localhost between the containers is untouched.
		applyPolicy(ctx, f, "deny-egress", "guarded", networkingv1.PolicyTypeEgress, nil, nil)
		out := net.JoinHostPort(clientIP, policyPortA)
		for _, c := range []string{"a", "b"} {
			d, ok := awaitDial(ctx, f, guarded, c, out, blocked, "container "+c+"'s dial out blocked by the deny-all egress policy")
			gomega.Expect(ok).To(gomega.BeTrue(), "the deny-all egress policy blocks container %s's dial to the client %s within %s: %+v", c, out, policyTimeout, d)
		}
		for c, port := range map[string]string{"a": policyPortB, "b": policyPortA} {
			d := dialOnce(ctx, f, guarded, c, "127.0.0.1:"+port)
			gomega.Expect(d.Result).To(gomega.Equal("ok"), "container %s still reaches the other container on 127.0.0.1:%s under the pod's policies: %+v", c, port, d)
		}
	})
})

// peerPod is net-policy-peer named name with role label role, under the
// cluster's default runtime handler.
func peerPod(name, role string) *v1.Pod {
	ginkgo.GinkgoHelper()
	p := pods.Load("net-policy-peer")
	p.Name = name
	p.Labels[roleLabel] = role
	p.Spec.RuntimeClassName = nil
	return p
}

// applyPolicy creates NetworkPolicy name selecting the pods of role, of one
// policy type, with the given rules (none: deny all of that type).
func applyPolicy(ctx context.Context, f *e2eframework.Framework, name, role string, typ networkingv1.PolicyType,
	ingress []networkingv1.NetworkPolicyIngressRule, egress []networkingv1.NetworkPolicyEgressRule) {
	ginkgo.GinkgoHelper()
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{roleLabel: role}},
			PolicyTypes: []networkingv1.PolicyType{typ},
			Ingress:     ingress,
			Egress:      egress,
		},
	}
	_, err := f.ClientSet.NetworkingV1().NetworkPolicies(f.Namespace.Name).Create(ctx, np, metav1.CreateOptions{})
	e2eframework.ExpectNoError(err, "creating NetworkPolicy %s", name)
	ginkgo.AddReportEntry("NetworkPolicy "+name, fmt.Sprintf("%+v", np.Spec), ginkgo.ReportEntryVisibilityFailureOrVerbose)
}

// dialOnce dials a TCP echo server at addr from container of pod, with a
// short timeout (a policy may be dropping the packets).
func dialOnce(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, container, addr string) probe.Dial {
	ginkgo.GinkgoHelper()
	var d probe.Dial
	probe.Run(ctx, f, pod, container, "dial", "tcp", addr, "--timeout", policyDialTimeout).Decode(&d)
	return d
}

// awaitDial dials addr from container of pod until done says so or
// policyTimeout passes: policies take effect when the enforcer sees them.
// It returns the last dial and whether done held.
func awaitDial(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, container, addr string, done func(probe.Dial) bool, what string) (probe.Dial, bool) {
	ginkgo.GinkgoHelper()
	defer timing.Start(timing.Wait, "dial "+addr+" from "+pod.Name+" "+what)()
	deadline := time.Now().Add(policyTimeout)
	for {
		d := dialOnce(ctx, f, pod, container, addr)
		if done(d) {
			return d, true
		}
		if time.Now().After(deadline) {
			ginkgo.AddReportEntry("not "+what, fmt.Sprintf("%s from %s/%s after %s: %+v", addr, pod.Name, container, policyTimeout, d), ginkgo.ReportEntryVisibilityFailureOrVerbose)
			return d, false
		}
		select {
		case <-ctx.Done():
			return d, false
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// blocked says whether a dial was stopped on its way: dropped (timeout),
// rejected with a reset or an ICMP error.
func blocked(d probe.Dial) bool {
	return d.Result == "timeout" || d.Result == "refused" ||
		slices.Contains([]string{"EHOSTUNREACH", "ENETUNREACH", "EACCES", "EPERM"}, d.Errno)
}

// firstIP is the pod's first IP.
func firstIP(p *v1.Pod) string {
	ginkgo.GinkgoHelper()
	ips := pods.IPs(p)
	gomega.Expect(ips).NotTo(gomega.BeEmpty(), "pod %s has an IP", p.Name)
	return ips[0]
}
