package pods

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	e2eframework "k8s.io/kubernetes/test/e2e/framework"
	admissionapi "k8s.io/pod-security-admission/api"

	"github.com/podsem/podsem/framework/timing"
)

// The neighbour is "another pod on the same node" for the specs that prove a
// pod's namespaces are its own (IPC, network, sysctls, UTS): an ordinary pod
// of the RuntimeClass under test that they only read. One per node serves every
// such spec of a run, in every Ginkgo process, instead of one per area: fewer
// pod starts for the same control. It lives in the run's neighbour namespace,
// made before the first spec (PrepareNeighbours) and deleted after the last
// (ReleaseNeighbours); the first spec to need it on a node creates it, the
// others find it (its name is the node's).

// NeighbourBaseName names the run's neighbour namespace (with the suite's
// prefix, so that make e2e-clean and the next run's clean find it).
const NeighbourBaseName = "podsem-neighbours"

// neighbourNamespace is the run's neighbour namespace, set in every process.
var neighbourNamespace string

// PrepareNeighbours creates the run's neighbour namespace, labelled as the e2e
// framework labels its own, and waits for its default ServiceAccount (pods
// cannot be created before it) and CA bundle. It runs once per run, before any spec.
func PrepareNeighbours(ctx context.Context, clients kubernetes.Interface) (string, error) {
	ns := &v1.Namespace{ObjectMeta: metav1.ObjectMeta{
		GenerateName: NeighbourBaseName + "-",
		Labels: map[string]string{
			"e2e-framework":                NeighbourBaseName,
			"e2e-run":                      string(e2eframework.RunID),
			admissionapi.EnforceLevelLabel: string(admissionapi.LevelBaseline),
			admissionapi.WarnLevelLabel:    string(admissionapi.LevelBaseline),
		},
	}}
	created, err := clients.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("creating the run's neighbour namespace: %w", err)
	}
	// Listed by name, not got: a least-privilege role (docs/sonobuoy/rbac.yaml)
	// may list these two by name only, as the e2e framework does for its own.
	wctx, cancel := context.WithTimeout(ctx, ReadyTimeout)
	defer cancel()
	byName := func(name string) metav1.ListOptions {
		return metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()}
	}
	for {
		sas, err := clients.CoreV1().ServiceAccounts(created.Name).List(wctx, byName("default"))
		if err == nil && len(sas.Items) > 0 {
			var cms *v1.ConfigMapList
			cms, err = clients.CoreV1().ConfigMaps(created.Name).List(wctx, byName("kube-root-ca.crt"))
			if err == nil && len(cms.Items) > 0 {
				return created.Name, nil
			}
		}
		if !sleep(wctx, pollInterval) {
			return "", fmt.Errorf("namespace %s has no default ServiceAccount and kube-root-ca.crt within %s (%v)", created.Name, ReadyTimeout, err)
		}
	}
}

// UseNeighbours tells this process the run's neighbour namespace.
func UseNeighbours(ns string) { neighbourNamespace = ns }

// ReleaseNeighbours deletes the run's neighbour namespace without waiting for
// it to go, as the e2e framework deletes a spec's.
func ReleaseNeighbours(ctx context.Context, clients kubernetes.Interface) error {
	if neighbourNamespace == "" {
		return nil
	}
	err := clients.CoreV1().Namespaces().Delete(ctx, neighbourNamespace, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// StartBesideNeighbour starts the given pods on one node (createOnOneNode)
// does, and returns them with the node's neighbour, Ready, started beside them
// if no spec has yet.
func StartBesideNeighbour(ctx context.Context, f *e2eframework.Framework, first *v1.Pod, others ...*v1.Pod) ([]*v1.Pod, *v1.Pod) {
	ginkgo.GinkgoHelper()
	defer timing.Start(timing.PodStart, "start on one node "+names(append([]*v1.Pod{first}, others...))+", beside the node's neighbour")()
	created, node := createOnOneNode(ctx, f, first, others...)
	neighbour := Load("single")
	type result struct {
		pod *v1.Pod
		err error
	}
	got := make(chan result, 1)
	go func() {
		p, err := startNeighbour(ctx, f.ClientSet, neighbour, node)
		got <- result{p, err}
	}()
	started := AwaitReady(ctx, f, created...)
	r := <-got
	e2eframework.ExpectNoError(r.err)
	ginkgo.AddReportEntry("pod "+r.pod.Name+" (the node's neighbour)", Summary(r.pod), ginkgo.ReportEntryVisibilityFailureOrVerbose)
	return started, r.pod
}

// NeighbourOf returns the neighbour of pod's node, Ready, starting it if no
// spec has yet.
func NeighbourOf(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod) *v1.Pod {
	ginkgo.GinkgoHelper()
	defer timing.Start(timing.PodStart, "the neighbour of node "+pod.Spec.NodeName)()
	gomega.Expect(pod.Spec.NodeName).NotTo(gomega.BeEmpty(), "pod %s is on a node", pod.Name)
	neighbour, err := startNeighbour(ctx, f.ClientSet, Load("single"), pod.Spec.NodeName)
	e2eframework.ExpectNoError(err)
	ginkgo.AddReportEntry("pod "+neighbour.Name+" (the node's neighbour)", Summary(neighbour), ginkgo.ReportEntryVisibilityFailureOrVerbose)
	return neighbour
}

// NeighbourMark is in the command line of every neighbour's entrypoint, and
// unique to the run: it tells the neighbour apart among a node's processes.
func NeighbourMark() string { return "/tmp/" + neighbourNamespace + "-entrypoint.json" }

// startNeighbour creates node's neighbour from pod unless it exists, and waits
// until it is Ready. It returns errors rather than failing: it runs beside the
// spec's own pods.
func startNeighbour(ctx context.Context, clients kubernetes.Interface, pod *v1.Pod, node string) (*v1.Pod, error) {
	if neighbourNamespace == "" {
		return nil, fmt.Errorf("no neighbour namespace: the suite's SynchronizedBeforeSuite did not run")
	}
	pod.Name = NeighbourName(node)
	pod.Spec.NodeName = node
	pod.Spec.Containers[0].Args = []string{"sleep", "--ns-out", NeighbourMark()}
	_, err := clients.CoreV1().Pods(neighbourNamespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("creating the neighbour of node %s: %w", node, err)
	}
	return waitReady(ctx, clients, neighbourNamespace, pod.Name, ReadyTimeout)
}

// NeighbourName is the name of node's neighbour: a hash of the node's name,
// which may be longer than a pod's name may.
func NeighbourName(node string) string {
	sum := sha256.Sum256([]byte(node))
	return "neighbour-" + hex.EncodeToString(sum[:6])
}
