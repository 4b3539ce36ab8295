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

// PrepareNeighbours creates the run's neighbour namespace as the e2e framework
// creates its own (CreateTestingNS: its labels, a retried create, the default
// ServiceAccount awaited), and waits for its CA bundle, bounded by ReadyTimeout
// in all. It runs once per run, before any spec.
func PrepareNeighbours(ctx context.Context, clients kubernetes.Interface) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, ReadyTimeout)
	defer cancel()
	created, err := e2eframework.CreateTestingNS(ctx, NeighbourBaseName, clients, map[string]string{
		"e2e-framework":                NeighbourBaseName,
		admissionapi.EnforceLevelLabel: string(admissionapi.LevelBaseline),
		admissionapi.WarnLevelLabel:    string(admissionapi.LevelBaseline),
	})
	if err != nil {
		return "", fmt.Errorf("creating the run's neighbour namespace: %w", err)
	}
	if err := e2eframework.WaitForKubeRootCAInNamespace(ctx, clients, created.Name); err != nil {
		return "", fmt.Errorf("the run's neighbour namespace: %w", err)
	}
	return created.Name, nil
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

// StartBesideNeighbour starts the given pods on one node (createOnOneNode), as
// Start does, and returns them with the node's neighbour, Ready, started
// beside them if no spec has yet.
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
	return started, recordNeighbour(r.pod, r.err)
}

// NeighbourOf returns the neighbour of pod's node, Ready, starting it if no
// spec has yet.
func NeighbourOf(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod) *v1.Pod {
	ginkgo.GinkgoHelper()
	defer timing.Start(timing.PodStart, "the neighbour of node "+pod.Spec.NodeName)()
	gomega.Expect(pod.Spec.NodeName).NotTo(gomega.BeEmpty(), "pod %s is on a node", pod.Name)
	return recordNeighbour(startNeighbour(ctx, f.ClientSet, Load("single"), pod.Spec.NodeName))
}

// recordNeighbour fails the spec on err, or records the Ready neighbour as
// evidence, as AwaitReady records a spec's own pods.
func recordNeighbour(neighbour *v1.Pod, err error) *v1.Pod {
	ginkgo.GinkgoHelper()
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
