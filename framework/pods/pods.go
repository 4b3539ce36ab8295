// Package pods starts fixture pods in a spec's namespace and waits for them with
// bounded waits whose failures say what the pod was doing.
package pods

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onsi/ginkgo/v2"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	e2eframework "k8s.io/kubernetes/test/e2e/framework"

	"github.com/podsem/podsem/fixtures"
	"github.com/podsem/podsem/framework/config"
	"github.com/podsem/podsem/framework/timing"
)

// ReadyTimeout bounds how long a fixture pod may take to become Ready.
const ReadyTimeout = time.Minute

// OptionalTimeout bounds how long StartOptional waits for a pod that uses an
// Optional semantic to start, or for the cluster to say why it does not.
const OptionalTimeout = time.Minute

const (
	// refusalGrace is how long a refusal must stand before StartOptional takes
	// it for the cluster's answer: long enough for the kubelet to try again
	// (its first back-off is 10s), so that a transient failure of an overloaded
	// node (a cgroup write timing out, say) is not taken for "not offered".
	refusalGrace = 15 * time.Second
	pollInterval = 250 * time.Millisecond
	// eventInterval spaces the event lists of StartOptional: a sandbox the
	// runtime refuses shows only in events, never in container statuses.
	eventInterval = 2 * time.Second
)

// refusedWaiting are the waiting reasons with which the kubelet says the runtime
// would not create or start a container; refusedTerminated the terminated ones.
var (
	refusedWaiting    = []string{"CreateContainerError", "CreateContainerConfigError", "RunContainerError"}
	refusedTerminated = []string{"StartError", "ContainerCannotRun"}
)

// Load reads a fixture adapted to the suite's flags (image, pull policy, RuntimeClass).
func Load(name string) *v1.Pod {
	ginkgo.GinkgoHelper()
	pod, err := fixtures.Load(name, fixtures.Options{
		Image:        config.Current.Image,
		PullPolicy:   config.Current.PullPolicy,
		RuntimeClass: config.Current.RuntimeClass,
	})
	e2eframework.ExpectNoError(err)
	return pod
}

// Start creates the given pods in f's namespace, all at once, and waits until
// each is Ready. It returns them as the API server last saw them.
func Start(ctx context.Context, f *e2eframework.Framework, pods ...*v1.Pod) []*v1.Pod {
	ginkgo.GinkgoHelper()
	defer timing.Start(timing.PodStart, "start "+names(pods))()
	return AwaitReady(ctx, f, Create(ctx, f, pods...)...)
}

// createOnOneNode creates pods on one node, wherever the scheduler puts the
// first, for specs that compare pods through what their kernel holds per
// namespace: another pod's network, IPC or UTS namespace is a proof only on the
// same kernel. The first is created and, once scheduled, the others are bound
// to its node; it returns them all and that node.
func createOnOneNode(ctx context.Context, f *e2eframework.Framework, first *v1.Pod, others ...*v1.Pod) ([]*v1.Pod, string) {
	ginkgo.GinkgoHelper()
	created := Create(ctx, f, first)
	scheduled, err := WaitFor(ctx, f, created[0].Name, ReadyTimeout, "scheduled to a node", func(p *v1.Pod) (bool, error) {
		return p.Spec.NodeName != "", nil
	})
	e2eframework.ExpectNoError(err)
	for _, p := range others {
		OnNodeOf(scheduled)(p)
	}
	return append(created, Create(ctx, f, others...)...), scheduled.Spec.NodeName
}

// AwaitReady waits until each created pod is Ready, records each as evidence
// (its node among it), and returns them as the API server last saw them. The
// pods are awaited side by side, so that each one's milestones are its own;
// the first failure, in the pods' order, fails the spec.
func AwaitReady(ctx context.Context, f *e2eframework.Framework, created ...*v1.Pod) []*v1.Pod {
	ginkgo.GinkgoHelper()
	defer timing.Start(timing.PodStart, "await "+names(created)+" Ready")()
	errs := make([]error, len(created))
	ready := make([]*v1.Pod, len(created))
	var wg sync.WaitGroup
	for i, p := range created {
		wg.Go(func() { ready[i], errs[i] = WaitReady(ctx, f, p.Name, ReadyTimeout) })
	}
	wg.Wait()
	for i, p := range created {
		e2eframework.ExpectNoError(errs[i])
		created[i] = ready[i]
		ginkgo.AddReportEntry("pod "+p.Name, Summary(ready[i]), ginkgo.ReportEntryVisibilityFailureOrVerbose)
	}
	return created
}

// names is the pods' names, for timing spans.
func names(pods []*v1.Pod) string {
	var n []string
	for _, p := range pods {
		n = append(n, p.Name)
	}
	return strings.Join(n, ", ")
}

// Create creates the given pods in f's namespace without waiting for them; for
// pods that are not meant to become Ready.
func Create(ctx context.Context, f *e2eframework.Framework, pods ...*v1.Pod) []*v1.Pod {
	ginkgo.GinkgoHelper()
	defer timing.Start(timing.PodStart, "create "+names(pods))()
	created := make([]*v1.Pod, 0, len(pods))
	for _, p := range pods {
		c, err := f.ClientSet.CoreV1().Pods(f.Namespace.Name).Create(ctx, p, metav1.CreateOptions{})
		e2eframework.ExpectNoError(err, "creating pod %s", p.Name)
		created = append(created, c)
	}
	return created
}

// StartOptional starts a pod that uses an Optional semantic. It returns the
// Ready pod and "", or nil and the reason the cluster does not offer the
// semantic, for the spec to pass to spec.NotOffered. The rule, for every
// Optional spec: "not offered" means the cluster says so, never that something
// failed once.
//
//   - the API server rejects the pod as Forbidden or Invalid (a feature gate, an
//     admission plugin): not offered;
//   - the pod never starts and the kubelet says the runtime refused it (a
//     container waiting with CreateContainerError, RunContainerError or
//     CreateContainerConfigError, terminated with StartError, a
//     FailedCreatePodSandBox event, the kubelet failing the pod at admission),
//     still so refusalGrace later (the kubelet has retried), and the refusal
//     says the feature is unsupported (Unsupported): not offered, with the
//     runtime's message;
//   - a refusal that persists but does not say so fails the spec, quoting the
//     runtime: a runtime error is not a missing feature;
//   - anything else (no reason within OptionalTimeout, a container crashing)
//     fails the spec, and so does a semantic that is offered but violated, which
//     the spec itself checks once the pod runs.
func StartOptional(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod) (*v1.Pod, string) {
	ginkgo.GinkgoHelper()
	defer timing.Start(timing.PodStart, "start (optional) "+pod.Name)()
	created, skip := createOptional(ctx, f, pod)
	if skip != "" {
		return nil, skip
	}
	return awaitStarted(ctx, f, created)
}

// StartOptionalOnOneNode starts the optional pods as StartOptional does, and
// the plain ones as Start does, all on the node of the first optional pod:
// the others are created, bound to its node, as soon as it is scheduled, so
// that they start while it does. The first pod the cluster does not offer
// ends it with the reason; otherwise it returns the Ready optional and
// plain pods.
func StartOptionalOnOneNode(ctx context.Context, f *e2eframework.Framework, optional []*v1.Pod, plain ...*v1.Pod) ([]*v1.Pod, []*v1.Pod, string) {
	ginkgo.GinkgoHelper()
	defer timing.Start(timing.PodStart, "start (optional) on one node "+names(append(slices.Clone(optional), plain...)))()
	first, skip := createOptional(ctx, f, optional[0])
	if skip != "" {
		return nil, nil, skip
	}
	scheduled, err := WaitFor(ctx, f, first.Name, OptionalTimeout, "scheduled to a node", func(p *v1.Pod) (bool, error) {
		return p.Spec.NodeName != "", nil
	})
	e2eframework.ExpectNoError(err)
	created := []*v1.Pod{first}
	for _, p := range optional[1:] {
		OnNodeOf(scheduled)(p)
		c, skip := createOptional(ctx, f, p)
		if skip != "" {
			return nil, nil, skip
		}
		created = append(created, c)
	}
	for _, p := range plain {
		OnNodeOf(scheduled)(p)
	}
	others := Create(ctx, f, plain...)
	var ready []*v1.Pod
	for _, c := range created {
		r, skip := awaitStarted(ctx, f, c)
		if skip != "" {
			return nil, nil, skip
		}
		ready = append(ready, r)
	}
	return ready, AwaitReady(ctx, f, others...), ""
}

// createOptional creates a pod that uses an Optional semantic: a rejection
// (Forbidden, Invalid) is the reason it is not offered.
func createOptional(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod) (*v1.Pod, string) {
	ginkgo.GinkgoHelper()
	created, err := f.ClientSet.CoreV1().Pods(f.Namespace.Name).Create(ctx, pod, metav1.CreateOptions{})
	if apierrors.IsForbidden(err) || apierrors.IsInvalid(err) {
		return nil, fmt.Sprintf("the API server rejects pod %s: %v", pod.Name, err)
	}
	e2eframework.ExpectNoError(err, "creating pod %s", pod.Name)
	return created, ""
}

// awaitStarted waits for a created optional pod under StartOptional's rule.
func awaitStarted(ctx context.Context, f *e2eframework.Framework, created *v1.Pod) (*v1.Pod, string) {
	ginkgo.GinkgoHelper()
	ready, refused, err := awaitOptional(ctx, f, created.Name, "Ready", isReady, allContainers, podRule)
	e2eframework.ExpectNoError(err)
	if refused != "" {
		return nil, fmt.Sprintf("pod %s/%s did not start: %s", f.Namespace.Name, created.Name, refused)
	}
	ginkgo.AddReportEntry("pod "+ready.Name, Summary(ready), ginkgo.ReportEntryVisibilityFailureOrVerbose)
	return ready, ""
}

// unsupported matches what runtimes and the kubelet say when they do not
// implement a feature ("does not support user namespaces", "not supported",
// "unsupported ...", "not implemented"), as opposed to failing at it.
var unsupported = regexp.MustCompile(`(?i)\b(not supported|does not support|doesn't support|unsupported|not implemented)\b`)

// Unsupported says whether a refusal's message says the feature is not
// implemented, rather than that something went wrong.
func Unsupported(message string) bool { return unsupported.MatchString(message) }

// ephemeralAttempts bounds how many ephemeral containers AddEphemeralOptional
// adds before it takes the runtime's refusal for its answer: the kubelet never
// retries an ephemeral container, so one transient runtime error (runc's
// "unable to freeze") would otherwise read as "not offered".
const ephemeralAttempts = 3

// AddEphemeralOptional adds ec to pod the way e2epod's AddEphemeralContainerSync
// does (a strategic merge patch of the ephemeralcontainers subresource, which
// no concurrent status update can conflict with) and waits until it runs. A
// rejected patch is a skip reason. A container the runtime refuses is
// replaced by a new one (ec's name with a suffix), up to ephemeralAttempts;
// when every one is refused, the refusal is a skip reason if it says the
// feature is unsupported, and fails the spec otherwise. It returns the pod and
// the name of the ephemeral container that runs.
func AddEphemeralOptional(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, ec v1.EphemeralContainer) (*v1.Pod, string, string) {
	ginkgo.GinkgoHelper()
	defer timing.Start(timing.PodStart, "add ephemeral container "+ec.Name+" to "+pod.Name)()
	base := ec.Name
	var refusals []string
	for attempt := 1; attempt <= ephemeralAttempts; attempt++ {
		if attempt > 1 {
			ec.Name = fmt.Sprintf("%s-%d", base, attempt)
		}
		patch, err := json.Marshal(map[string]any{"spec": map[string]any{"ephemeralContainers": []v1.EphemeralContainer{ec}}})
		e2eframework.ExpectNoError(err)
		_, err = f.ClientSet.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "ephemeralcontainers")
		if apierrors.IsForbidden(err) || apierrors.IsInvalid(err) || apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
			return nil, "", fmt.Sprintf("the API server rejects ephemeral container %s in pod %s: %v", ec.Name, pod.Name, err)
		}
		e2eframework.ExpectNoError(err, "adding ephemeral container %s to pod %s", ec.Name, pod.Name)
		name := ec.Name
		running, refused, err := awaitOptional(ctx, f, pod.Name, "running ephemeral container "+name, func(p *v1.Pod) bool {
			s := ephemeralStatus(p, name)
			return s != nil && s.State.Running != nil
		}, func(p *v1.Pod) []v1.ContainerStatus {
			if s := ephemeralStatus(p, name); s != nil {
				return []v1.ContainerStatus{*s}
			}
			return nil
		}, refusalRule{anyRefusal: true})
		e2eframework.ExpectNoError(err)
		if refused == "" {
			ginkgo.AddReportEntry("ephemeral container "+name, fmt.Sprintf("running after %d attempt(s); refusals before: %v", attempt, refusals), ginkgo.ReportEntryVisibilityFailureOrVerbose)
			return running, name, ""
		}
		refusals = append(refusals, refused)
		ginkgo.AddReportEntry("ephemeral container "+name+" refused", refused, ginkgo.ReportEntryVisibilityFailureOrVerbose)
	}
	last := refusals[len(refusals)-1]
	if !Unsupported(last) {
		e2eframework.Failf("%d ephemeral containers in pod %s/%s were refused in a row, and the refusal does not say the feature is unsupported (a runtime error is not a missing feature): %s",
			ephemeralAttempts, f.Namespace.Name, pod.Name, strings.Join(refusals, " | "))
	}
	return nil, "", fmt.Sprintf("%d ephemeral containers in pod %s/%s were refused in a row: %s", ephemeralAttempts, f.Namespace.Name, pod.Name, last)
}

func ephemeralStatus(p *v1.Pod, name string) *v1.ContainerStatus {
	for i := range p.Status.EphemeralContainerStatuses {
		if p.Status.EphemeralContainerStatuses[i].Name == name {
			return &p.Status.EphemeralContainerStatuses[i]
		}
	}
	return nil
}

// allContainers is every container status of a pod, init and ephemeral ones included.
func allContainers(p *v1.Pod) []v1.ContainerStatus {
	return append(append(append([]v1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...), p.Status.EphemeralContainerStatuses...)
}

// refusalRule says when awaitOptional takes a refusal for the answer.
type refusalRule struct {
	// grace is how long the refusal must stand.
	grace time.Duration
	// anyRefusal: every refusal counts (an ephemeral container, which the
	// kubelet never retries), not only one that says the feature is
	// unsupported; the caller decides what it means.
	anyRefusal bool
}

// podRule is StartOptional's: the kubelet retries a refused pod, so only an
// "unsupported" refusal that stood for refusalGrace ends the wait; any other
// one is waited out, and if it persists the wait's error quotes it.
var podRule = refusalRule{grace: refusalGrace}

// awaitOptional polls pod name until done, until a refusal (in the statuses
// of watched, or the sandbox's events) ends the wait under rule (the refusal
// is returned), or until OptionalTimeout passes (an error that quotes the last
// refusal).
func awaitOptional(ctx context.Context, f *e2eframework.Framework, name, what string, done func(*v1.Pod) bool, watched func(*v1.Pod) []v1.ContainerStatus, rule refusalRule) (*v1.Pod, string, error) {
	var reason, sandbox string
	var refusedSince, nextEvents time.Time
	p, err := WaitFor(ctx, f, name, OptionalTimeout, what, func(p *v1.Pod) (bool, error) {
		if done(p) {
			return true, nil
		}
		if p.Status.Phase == v1.PodSucceeded || (p.Status.Phase == v1.PodFailed && p.Status.Reason == "") {
			return false, fmt.Errorf("pod %s ended (%s) before %s: %s", name, p.Status.Phase, what, States(p))
		}
		// A sandbox refusal stays in the events after a retry succeeded: it
		// counts only while the pod has no sandbox.
		if sandboxUp(p) {
			sandbox = ""
		} else if time.Now().After(nextEvents) {
			nextEvents = time.Now().Add(eventInterval)
			sandbox = sandboxRefusal(ctx, f, name)
		}
		if reason = refusal(p, watched(p)); reason == "" {
			reason = sandbox
		}
		switch {
		case reason == "":
			refusedSince = time.Time{}
		case refusedSince.IsZero():
			refusedSince = time.Now()
		}
		counts := reason != "" && (rule.anyRefusal || Unsupported(reason))
		return counts && time.Since(refusedSince) >= rule.grace, nil
	})
	if err != nil && reason != "" {
		err = fmt.Errorf("%w; the runtime's last refusal, which does not say the feature is unsupported (a runtime error is not a missing feature): %s", err, reason)
	}
	if err != nil || done(p) {
		return p, "", err
	}
	return nil, reason, nil
}

// refusal is why the kubelet or runtime would not start pod, from its status,
// or "" when its status does not say so.
func refusal(p *v1.Pod, statuses []v1.ContainerStatus) string {
	if p.Status.Phase == v1.PodFailed && p.Status.Reason != "" {
		return fmt.Sprintf("the kubelet failed the pod: %s: %s", p.Status.Reason, firstLine(p.Status.Message))
	}
	for _, s := range statuses {
		if w := s.State.Waiting; w != nil && slices.Contains(refusedWaiting, w.Reason) {
			return fmt.Sprintf("container %s: %s: %s", s.Name, w.Reason, firstLine(w.Message))
		}
		for _, t := range []*v1.ContainerStateTerminated{s.State.Terminated, s.LastTerminationState.Terminated} {
			if t != nil && slices.Contains(refusedTerminated, t.Reason) {
				return fmt.Sprintf("container %s: %s: %s", s.Name, t.Reason, firstLine(t.Message))
			}
		}
	}
	return ""
}

// sandboxRefusal is the runtime's message when it would not create the pod's
// sandbox (e.g. "does not support user namespaces"), from the pod's events.
func sandboxRefusal(ctx context.Context, f *e2eframework.Framework, name string) string {
	evs, err := f.ClientSet.CoreV1().Events(f.Namespace.Name).List(ctx, metav1.ListOptions{
		FieldSelector: fields.Set{"involvedObject.name": name, "reason": "FailedCreatePodSandBox"}.AsSelector().String(),
	})
	if err != nil || len(evs.Items) == 0 {
		return ""
	}
	return "FailedCreatePodSandBox: " + firstLine(evs.Items[len(evs.Items)-1].Message)
}

// sandboxUp says whether the kubelet reports the pod's sandbox created, with
// its network.
func sandboxUp(p *v1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == v1.PodReadyToStartContainers && c.Status == v1.ConditionTrue {
			return true
		}
	}
	return false
}

func isReady(p *v1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == v1.PodReady && c.Status == v1.ConditionTrue {
			return true
		}
	}
	return false
}

// StartFixture loads fixture name, lets mutate adjust it, and starts it.
func StartFixture(ctx context.Context, f *e2eframework.Framework, name string, mutate ...func(*v1.Pod)) *v1.Pod {
	ginkgo.GinkgoHelper()
	pod := Load(name)
	for _, m := range mutate {
		m(pod)
	}
	return Start(ctx, f, pod)[0]
}

// OnNodeOf puts a pod on the node of pod, for specs that compare with
// another pod on the same node (the node's namespaces are one node's), on a
// cluster of any number of nodes.
func OnNodeOf(pod *v1.Pod) func(*v1.Pod) {
	return func(p *v1.Pod) { p.Spec.NodeName = pod.Spec.NodeName }
}

// WaitReady waits until pod name is Ready. Its error names what was seen last:
// container states and reasons, and the pod's warning events. The wait is a
// pod start in the spec's timing, with its milestones.
func WaitReady(ctx context.Context, f *e2eframework.Framework, name string, timeout time.Duration) (*v1.Pod, error) {
	return waitReady(ctx, f.ClientSet, f.Namespace.Name, name, timeout)
}

// waitReady is WaitReady for pod name in namespace ns, through clients.
func waitReady(ctx context.Context, clients kubernetes.Interface, ns, name string, timeout time.Duration) (*v1.Pod, error) {
	end := timing.StartMarked(timing.PodStart, "await "+name+" Ready")
	m := milestones{}
	p, err := waitFor(ctx, clients, ns, name, timeout, "Ready", func(p *v1.Pod) (bool, error) {
		m.see(name, p)
		if p.Status.Phase == v1.PodFailed || p.Status.Phase == v1.PodSucceeded {
			return false, fmt.Errorf("pod %s ended (%s) before becoming Ready: %s", name, p.Status.Phase, States(p))
		}
		return isReady(p), nil
	})
	end(m)
	return p, err
}

// milestones are the first moments a pod was seen scheduled, with its
// sandbox up, with every container running, and Ready: where a pod start's
// time went.
type milestones map[string]time.Time

func (m milestones) see(name string, p *v1.Pod) {
	mark := func(what string, ok bool) {
		if _, seen := m[name+" "+what]; ok && !seen {
			m[name+" "+what] = time.Now()
		}
	}
	mark("scheduled", p.Spec.NodeName != "")
	mark("sandbox", sandboxUp(p))
	running := len(p.Status.ContainerStatuses) > 0
	for _, s := range p.Status.ContainerStatuses {
		running = running && s.State.Running != nil
	}
	mark("running", running)
	mark("ready", isReady(p))
}

// WaitFor waits until done says so for pod name, done fails, or timeout
// passes; what names the awaited condition in the timeout message. It
// watches the pod (a change is seen as it happens, not at the next poll),
// and judges it again every pollInterval between changes, for conditions
// that depend on time or on more than the pod. Where the client may not
// watch pods, it polls. A pod deleted meanwhile ends the wait with an error.
func WaitFor(ctx context.Context, f *e2eframework.Framework, name string, timeout time.Duration, what string, done func(*v1.Pod) (bool, error)) (*v1.Pod, error) {
	return waitFor(ctx, f.ClientSet, f.Namespace.Name, name, timeout, what, done)
}

// waitFor is WaitFor for pod name in namespace ns, through clients.
func waitFor(ctx context.Context, clients kubernetes.Interface, ns, name string, timeout time.Duration, what string, done func(*v1.Pod) (bool, error)) (*v1.Pod, error) {
	defer timing.Start(timing.Wait, "pod "+name+" "+what)()
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := clients.CoreV1().Pods(ns)
	var last *v1.Pod
	judge := func(p *v1.Pod) (bool, error) {
		last = p
		return done(p)
	}
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for wctx.Err() == nil {
		p, err := client.Get(wctx, name, metav1.GetOptions{})
		if err != nil {
			// Not yet visible, or a transient error: try again.
			if !sleep(wctx, pollInterval) {
				break
			}
			continue
		}
		if ok, err := judge(p); ok || err != nil {
			return p, err
		}
		w := watchFrom(wctx, client, name, p.ResourceVersion)
		if w == nil {
			if !sleep(wctx, pollInterval) {
				break
			}
			continue
		}
		p, err = follow(wctx, w, tick, last, judge)
		w.Stop()
		if p != nil || err != nil {
			return p, err
		}
		// The watch ended (closed by the server, or expired): start again.
	}
	state := "never seen"
	if last != nil {
		state = States(last)
	}
	return last, fmt.Errorf("pod %s/%s not %s within %s: %s%s", ns, name, what, timeout, state, warnings(ctx, clients, ns, name))
}

// canWatch is false once the API server has refused this client a watch on
// pods (a least-privilege role with get only): WaitFor polls from then on.
var canWatch atomic.Bool

func init() { canWatch.Store(true) }

// watchFrom watches pod name from resourceVersion on, or returns nil when this
// client may not watch pods (it is remembered) or the watch failed: the caller
// polls instead.
func watchFrom(ctx context.Context, client typedcorev1.PodInterface, name, resourceVersion string) watch.Interface {
	if !canWatch.Load() {
		return nil
	}
	w, err := client.Watch(ctx, metav1.ListOptions{
		FieldSelector:   fields.OneTermEqualSelector("metadata.name", name).String(),
		ResourceVersion: resourceVersion,
	})
	if apierrors.IsForbidden(err) {
		canWatch.Store(false)
	}
	if err != nil {
		return nil
	}
	return w
}

// follow judges the pod on every event of w, and the last one seen on every
// tick, until judge says so or fails (the pod is returned), the pod is
// deleted (an error), or the watch or ctx ends (nil, nil).
func follow(ctx context.Context, w watch.Interface, tick *time.Ticker, last *v1.Pod, judge func(*v1.Pod) (bool, error)) (*v1.Pod, error) {
	for {
		select {
		case <-ctx.Done():
			return nil, nil
		case <-tick.C:
			if ok, err := judge(last); ok || err != nil {
				return last, err
			}
		case ev, open := <-w.ResultChan():
			if !open {
				return nil, nil
			}
			p, isPod := ev.Object.(*v1.Pod)
			switch {
			case ev.Type == watch.Deleted && isPod:
				return p, fmt.Errorf("pod %s/%s was deleted while awaited: %s", p.Namespace, p.Name, States(p))
			case (ev.Type == watch.Added || ev.Type == watch.Modified) && isPod:
				last = p
				if ok, err := judge(p); ok || err != nil {
					return p, err
				}
			case ev.Type == watch.Error:
				return nil, nil // e.g. the resource version expired: Get again
			}
		}
	}
}

// WaitGone waits until pod name is no longer in the API, watching it as
// WaitFor does.
func WaitGone(ctx context.Context, f *e2eframework.Framework, name string, timeout time.Duration) error {
	defer timing.Start(timing.Wait, "pod "+name+" gone")()
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := f.ClientSet.CoreV1().Pods(f.Namespace.Name)
	var last *v1.Pod
	var lastErr error
	for wctx.Err() == nil {
		p, err := client.Get(wctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			lastErr = err
			if !sleep(wctx, pollInterval) {
				break
			}
			continue
		}
		last, lastErr = p, nil
		w := watchFrom(wctx, client, name, p.ResourceVersion)
		if w == nil {
			if !sleep(wctx, pollInterval) {
				break
			}
			continue
		}
		gone := false
	events:
		for {
			select {
			case <-wctx.Done():
				break events
			case ev, open := <-w.ResultChan():
				if !open || ev.Type == watch.Error {
					break events
				}
				if p, ok := ev.Object.(*v1.Pod); ok {
					last = p
				}
				if ev.Type == watch.Deleted {
					gone = true
					break events
				}
			}
		}
		w.Stop()
		if gone {
			return nil
		}
	}
	state := fmt.Sprintf("last error %v", lastErr)
	if last != nil && lastErr == nil {
		state = States(last)
	}
	return fmt.Errorf("pod %s/%s not gone within %s of its deletion: %s", f.Namespace.Name, name, timeout, state)
}

// sleep waits d, or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// States is a one-line account of a pod's containers.
func States(p *v1.Pod) string {
	var parts []string
	for _, s := range allContainers(p) {
		state := "unknown"
		switch {
		case s.State.Running != nil:
			state = "running"
		case s.State.Waiting != nil:
			state = "waiting: " + s.State.Waiting.Reason
			if s.State.Waiting.Message != "" {
				state += " (" + firstLine(s.State.Waiting.Message) + ")"
			}
		case s.State.Terminated != nil:
			state = fmt.Sprintf("terminated: %s, exit %d", s.State.Terminated.Reason, s.State.Terminated.ExitCode)
		}
		if t := s.LastTerminationState.Terminated; t != nil {
			state += fmt.Sprintf(" (last: %s, exit %d)", t.Reason, t.ExitCode)
		}
		parts = append(parts, fmt.Sprintf("%s %s, ready=%t, restarts=%d", s.Name, state, s.Ready, s.RestartCount))
	}
	if len(parts) == 0 {
		return fmt.Sprintf("phase %s, no container status yet", p.Status.Phase)
	}
	return fmt.Sprintf("phase %s; %s", p.Status.Phase, strings.Join(parts, "; "))
}

// warnings lists the pod's Warning events, which usually say why it is stuck.
func warnings(ctx context.Context, clients kubernetes.Interface, ns, name string) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	evs, err := clients.CoreV1().Events(ns).List(ctx, metav1.ListOptions{
		FieldSelector: fields.Set{"involvedObject.name": name, "type": v1.EventTypeWarning}.AsSelector().String(),
	})
	if err != nil || len(evs.Items) == 0 {
		return ""
	}
	seen := map[string]bool{}
	var msgs []string
	for _, e := range evs.Items {
		m := e.Reason + ": " + firstLine(e.Message)
		if !seen[m] {
			seen[m] = true
			msgs = append(msgs, m)
		}
	}
	sort.Strings(msgs)
	return "; events: " + strings.Join(msgs, " | ")
}

// Summary is the evidence recorded for a started pod.
func Summary(p *v1.Pod) string {
	rc := "(default)"
	if p.Spec.RuntimeClassName != nil {
		rc = *p.Spec.RuntimeClassName
	}
	var ips []string
	for _, ip := range p.Status.PodIPs {
		ips = append(ips, ip.IP)
	}
	return fmt.Sprintf("namespace %s, node %s, runtimeClass %s, podIPs %v, uid %s", p.Namespace, p.Spec.NodeName, rc, ips, p.UID)
}

// IPs returns the pod's IPs.
func IPs(p *v1.Pod) []string {
	var ips []string
	for _, ip := range p.Status.PodIPs {
		ips = append(ips, ip.IP)
	}
	if len(ips) == 0 && p.Status.PodIP != "" {
		ips = append(ips, p.Status.PodIP)
	}
	return ips
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
