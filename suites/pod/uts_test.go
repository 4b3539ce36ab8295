package pod

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	e2eframework "k8s.io/kubernetes/test/e2e/framework"
	admissionapi "k8s.io/pod-security-admission/api"

	"github.com/podsem/podsem/framework/pods"
	"github.com/podsem/podsem/framework/probe"
	"github.com/podsem/podsem/framework/spec"
	"github.com/podsem/podsem/framework/timing"
)

var _ = ginkgo.Describe("uts", spec.Takes(13), ginkgo.Ordered, ginkgo.ContinueOnFailure, func() {
	f := spec.SharedFramework("uts", admissionapi.LevelBaseline)
	var other, named, fqdn *v1.Pod
	// UTS-06's pod is only created here, so that it starts beside the others,
	// and awaited in UTS-06: an API server or node without the feature fails
	// or skips UTS-06 alone. A run whose filter leaves UTS-06 out does without it.
	var override *v1.Pod
	overrideErr := errors.New("pod uts-override was not created: the run's label filter left UTS-06 out")
	overrideName := spec.Token("uts06")

	ginkgo.BeforeAll(func(ctx context.Context) {
		if spec.Selected("UTS-06") {
			override, overrideErr = createEarly(ctx, f, "uts-override", func(p *v1.Pod) { p.Spec.HostnameOverride = &overrideName })
		}
		started, neighbour := pods.StartBesideNeighbour(ctx, f, pods.Load("uts-named"), pods.Load("uts-fqdn"))
		other, named, fqdn = neighbour, started[0], started[1]
		// The headless Service of uts-named's and uts-fqdn's subdomain, which
		// gives each pod's FQDN a DNS record where the cluster serves DNS.
		headlessService(ctx, f, named.Spec.Subdomain, named.Labels)
	})

	spec.It("UTS-02", func(ctx context.Context) {
		a, b := viewUTS(ctx, f, named, "a"), viewUTS(ctx, f, named, "b")
		gomega.Expect(a.Host.Hostname).To(gomega.Equal(named.Spec.Hostname), "spec.hostname is container a's hostname")
		gomega.Expect(b.Host.Hostname).To(gomega.Equal(a.Host.Hostname), "and container b's")
		want := fmt.Sprintf("%s.%s.%s.svc.", named.Spec.Hostname, named.Spec.Subdomain, named.Namespace)
		gomega.Expect(a.FQDN).To(gomega.HavePrefix(want), "container a's /etc/hosts gives the pod IP the FQDN %s<cluster domain>", want)
		gomega.Expect(b.FQDN).To(gomega.Equal(a.FQDN), "container b's FQDN is a's")
		fqdnResolves(ctx, f, named, a.FQDN, a.DNS)
	})

	spec.It("UTS-03", func(ctx context.Context) {
		a := viewUTS(ctx, f, fqdn, "a")
		var b probe.Hostname
		probe.Into(ctx, f, fqdn, "b", &b, "hostname", "get")
		want := fmt.Sprintf("%s.%s.%s.svc.", fqdn.Spec.Hostname, fqdn.Spec.Subdomain, fqdn.Namespace)
		gomega.Expect(a.Host.Hostname).To(gomega.HavePrefix(want), "with setHostnameAsFQDN, container a's kernel hostname is the FQDN")
		gomega.Expect(a.Host.Hostname).To(gomega.Equal(a.FQDN), "the FQDN /etc/hosts gives the pod IP")
		gomega.Expect(b.Hostname).To(gomega.Equal(a.Host.Hostname), "container b's hostname is the same FQDN")
		fqdnResolves(ctx, f, fqdn, a.Host.Hostname, a.DNS)
	})

	spec.It("UTS-04", func(ctx context.Context) {
		var mine, theirs probe.Hostname
		probe.Into(ctx, f, named, "a", &mine, "hostname", "get")
		probe.Into(ctx, f, other, "main", &theirs, "hostname", "get")
		gomega.Expect(theirs.Hostname).To(gomega.Equal(other.Name), "the other pod's hostname is its own name")
		gomega.Expect(theirs.Hostname).NotTo(gomega.Equal(mine.Hostname), "and not pod %s's", named.Name)
	})

	spec.It("UTS-06", func(ctx context.Context) {
		// An API server that predates the field rejects it or drops it: the
		// pod would run with its own name, which is not the semantic.
		if apierrors.IsInvalid(overrideErr) || apierrors.IsBadRequest(overrideErr) {
			ginkgo.Skip(fmt.Sprintf("the API server rejects spec.hostnameOverride: the cluster predates the feature (GA in v1.37): %v", overrideErr))
		}
		e2eframework.ExpectNoError(overrideErr, "creating pod uts-override")
		if override.Spec.HostnameOverride == nil {
			ginkgo.Skip("the API server dropped spec.hostnameOverride: the cluster predates the feature (GA in v1.37)")
		}
		gomega.Expect(*override.Spec.HostnameOverride).To(gomega.Equal(overrideName), "the API server kept the pod's spec.hostnameOverride")
		pod, err := pods.WaitReady(ctx, f, override.Name, pods.ReadyTimeout)
		e2eframework.ExpectNoError(err)
		ginkgo.AddReportEntry("pod "+pod.Name, pods.Summary(pod), ginkgo.ReportEntryVisibilityFailureOrVerbose)

		var init, a, b probe.Hostname
		inA := probe.Batch(ctx, f, pod, "a", []string{"file", "read", utsOverrideInitFile}, []string{"hostname", "get"})
		decodeFile(inA[0], &init)
		gomega.Expect(init.Hostname).To(gomega.Equal(overrideName), "the init container's kernel hostname was spec.hostnameOverride, not the pod's name %s or spec.hostname %s", pod.Name, pod.Spec.Hostname)
		inA[1].DecodeOK(&a)
		probe.Into(ctx, f, pod, "b", &b, "hostname", "get")
		gomega.Expect(a.Hostname).To(gomega.Equal(overrideName), "container a's kernel hostname is spec.hostnameOverride, not the pod's name %s or spec.hostname %s", pod.Name, pod.Spec.Hostname)
		gomega.Expect(b.Hostname).To(gomega.Equal(overrideName), "and so is container b's")
	})
})

// utsOverrideInitFile is where uts-override's init container leaves its hostname.
const utsOverrideInitFile = "/evidence/init-hostname.json"

var _ = ginkgo.Describe("uts: names set in the pod", spec.Takes(7), func() {
	// Container a gets CAP_SYS_ADMIN to call sethostname and setdomainname:
	// privileged level.
	f := spec.Framework("uts-set", admissionapi.LevelPrivileged)

	spec.It("UTS-01", func(ctx context.Context) {
		pod := pods.Start(ctx, f, pods.Load("uts-setter"))[0]
		// Container b first, then, in one exec, a's names and the domainname
		// a sets.
		var a, b probe.Hostname
		probe.Into(ctx, f, pod, "b", &b, "hostname", "get")
		domain := spec.Token("uts01")
		inA := probe.Batch(ctx, f, pod, "a", []string{"hostname", "get"}, []string{"hostname", "set-domain", domain})
		inA[0].DecodeOK(&a)
		gomega.Expect(a.Hostname).To(gomega.Equal(pod.Name), "container a's hostname is the pod's name")
		gomega.Expect(b.Hostname).To(gomega.Equal(a.Hostname), "container b reports the same hostname as a")
		gomega.Expect(b.Domainname).To(gomega.Equal(a.Domainname), "and the same domainname")
		// Behaviour, not two kernel defaults compared: the domainname one
		// container sets is the one every other reports.
		inA[1].DecodeOK(&probe.Hostname{})
		b = probe.Hostname{}
		probe.Into(ctx, f, pod, "b", &b, "hostname", "get")
		gomega.Expect(b.Domainname).To(gomega.Equal(domain), "container b reports the domainname container a set: one UTS namespace")
	})

	spec.It("UTS-05", func(ctx context.Context) {
		pod := pods.Start(ctx, f, pods.Load("uts-setter"))[0]
		name := spec.Token("uts05")
		var before probe.Hostname
		inA := probe.Batch(ctx, f, pod, "a", []string{"hostname", "get"}, []string{"hostname", "set", name})
		inA[0].DecodeOK(&before)
		gomega.Expect(before.Hostname).To(gomega.Equal(pod.Name))
		inA[1].DecodeOK(&probe.Hostname{})
		var seen probe.Hostname
		probe.Into(ctx, f, pod, "b", &seen, "hostname", "get")
		gomega.Expect(seen.Hostname).To(gomega.Equal(name), "container b sees the hostname container a set: one UTS namespace")
	})
})

// createEarly creates fixture name, adjusted by mutate, without waiting for it,
// and returns the pod as the API server created it or its error, for a spec
// to judge: a field the API server drops or rejects is that spec's skip, and
// no other spec's failure.
func createEarly(ctx context.Context, f *e2eframework.Framework, name string, mutate func(*v1.Pod)) (*v1.Pod, error) {
	ginkgo.GinkgoHelper()
	pod := pods.Load(name)
	mutate(pod)
	return f.ClientSet.CoreV1().Pods(f.Namespace.Name).Create(ctx, pod, metav1.CreateOptions{})
}

// utsView is what one container says of its names, in one exec.
type utsView struct {
	Host probe.Hostname
	// FQDN is the first name the container's /etc/hosts gives the pod's IP,
	// which the kubelet writes as the FQDN when a subdomain is set.
	FQDN string
	// DNS is whether kubernetes.default resolves from the container: whether
	// the cluster serves DNS (fqdnResolves).
	DNS probe.Result
}

// viewUTS asks container of pod for its hostname, its /etc/hosts FQDN and
// whether the cluster's DNS answers, in one exec (the lookup last: it may wait).
func viewUTS(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, container string) utsView {
	ginkgo.GinkgoHelper()
	r := probe.Batch(ctx, f, pod, container, []string{"hostname", "get"}, []string{"file", "read", "/etc/hosts"},
		[]string{"resolve", "kubernetes.default"})
	v := utsView{DNS: r[2]}
	r[0].DecodeOK(&v.Host)
	var hosts probe.File
	r[1].DecodeOK(&hosts)
	v.FQDN = hostsFQDN(hosts, pod, container)
	return v
}

// hostsFQDN returns the first name container's /etc/hosts gives the pod's IP.
func hostsFQDN(hosts probe.File, pod *v1.Pod, container string) string {
	ginkgo.GinkgoHelper()
	ips := pods.IPs(pod)
	if len(ips) > 0 {
		if names := hostsNames(hosts.Content, ips[:1]); len(names) > 0 {
			return names[0]
		}
	}
	e2eframework.Failf("container %s's /etc/hosts has no entry for pod IP %v:\n%s", container, ips, hosts.Content)
	return ""
}

// dnsTimeout bounds how long a pod's new DNS record may take to be served:
// CoreDNS learns a headless Service's endpoints through a watch.
const dnsTimeout = 15 * time.Second

// headlessService creates a headless Service name selecting the pods of labels.
func headlessService(ctx context.Context, f *e2eframework.Framework, name string, labels map[string]string) {
	ginkgo.GinkgoHelper()
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.ServiceSpec{
			ClusterIP: v1.ClusterIPNone,
			Selector:  map[string]string{"podsem-subdomain": labels["podsem-subdomain"]},
			Ports:     []v1.ServicePort{{Port: 80}},
		},
	}
	_, err := f.ClientSet.CoreV1().Services(f.Namespace.Name).Create(ctx, svc, metav1.CreateOptions{})
	e2eframework.ExpectNoError(err, "creating the headless Service %s", name)
}

// fqdnResolves is the DNS leg of UTS-02/03: where the cluster serves DNS
// (dns, container a's lookup of kubernetes.default, resolved), the pod's FQDN
// resolves from every container to the pod's IP. Where it does not, the leg
// is skipped, saying so in the report; the rest of the spec still judges.
func fqdnResolves(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, fqdn string, dns probe.Result) {
	ginkgo.GinkgoHelper()
	if r := dns; !r.OK() {
		ginkgo.AddReportEntry("DNS leg skipped", fmt.Sprintf("the cluster serves no DNS to pod %s: kubernetes.default does not resolve (%s); the FQDN %s is proven from /etc/hosts and the kernel hostname only", pod.Name, r.Describe(), fqdn))
		return
	}
	name := strings.TrimSuffix(fqdn, ".")
	ips := pods.IPs(pod)
	gomega.Expect(ips).NotTo(gomega.BeEmpty(), "pod %s has an IP", pod.Name)
	for _, c := range []string{"a", "b"} {
		func() {
			defer timing.Start(timing.Wait, c+": "+name+" resolves")()
			gomega.Eventually(ctx, func(ctx context.Context) []string {
				var got probe.Resolve
				probe.Run(ctx, f, pod, c, "resolve", name).Decode(&got)
				return got.Addrs
			}).WithTimeout(dnsTimeout).WithPolling(500*time.Millisecond).Should(gomega.ContainElement(ips[0]),
				"the cluster's DNS resolves the pod's FQDN %s, from container %s, to the pod's IP %s (within %s)", name, c, ips[0], dnsTimeout)
		}()
	}
}
