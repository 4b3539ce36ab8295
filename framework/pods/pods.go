// Package pods starts fixture pods in a spec's namespace and waits for them with
// bounded waits whose failures say what the pod was doing.
package pods

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	e2eframework "k8s.io/kubernetes/test/e2e/framework"

	"github.com/podsem/podsem/fixtures"
	"github.com/podsem/podsem/framework/config"
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
	created := Create(ctx, f, pods...)
	for i, p := range created {
		ready, err := WaitReady(ctx, f, p.Name, ReadyTimeout)
		e2eframework.ExpectNoError(err)
		created[i] = ready
		ginkgo.AddReportEntry("pod "+p.Name, Summary(ready), ginkgo.ReportEntryVisibilityFailureOrVerbose)
	}
	return created
}

// Create creates the given pods in f's namespace without waiting for them; for
// pods that are not meant to become Ready.
func Create(ctx context.Context, f *e2eframework.Framework, pods ...*v1.Pod) []*v1.Pod {
	ginkgo.GinkgoHelper()
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
// semantic, for the spec to ginkgo.Skip with. The rule, for every Optional spec:
//
//   - the API server rejects the pod as Forbidden or Invalid (a feature gate, an
//     admission plugin): not offered, skip;
//   - the pod never starts and the kubelet says the runtime refused it (a
//     container waiting with CreateContainerError, RunContainerError or
//     CreateContainerConfigError, terminated with StartError, a
//     FailedCreatePodSandBox event, the kubelet failing the pod at admission),
//     and still so refusalGrace later: not offered, skip with the runtime's
//     message;
//   - anything else (no reason within OptionalTimeout, a container crashing)
//     fails the spec, and so does a semantic that is offered but violated, which
//     the spec itself checks once the pod runs.
func StartOptional(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod) (*v1.Pod, string) {
	ginkgo.GinkgoHelper()
	created, err := f.ClientSet.CoreV1().Pods(f.Namespace.Name).Create(ctx, pod, metav1.CreateOptions{})
	if apierrors.IsForbidden(err) || apierrors.IsInvalid(err) {
		return nil, fmt.Sprintf("the API server rejects pod %s: %v", pod.Name, err)
	}
	e2eframework.ExpectNoError(err, "creating pod %s", pod.Name)
	ready, reason, err := awaitOptional(ctx, f, created.Name, "Ready", isReady)
	e2eframework.ExpectNoError(err)
	if reason == "" {
		ginkgo.AddReportEntry("pod "+ready.Name, Summary(ready), ginkgo.ReportEntryVisibilityFailureOrVerbose)
	}
	return ready, reason
}

// AddEphemeralOptional adds ec to pod the way e2epod's AddEphemeralContainerSync
// does (a strategic merge patch of the ephemeralcontainers subresource, which
// no concurrent status update can conflict with) and waits until it runs, under
// StartOptional's rule: a rejected patch or a refused container is a skip
// reason, anything else that keeps it from running fails the spec.
func AddEphemeralOptional(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, ec v1.EphemeralContainer) (*v1.Pod, string) {
	ginkgo.GinkgoHelper()
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"ephemeralContainers": []v1.EphemeralContainer{ec}}})
	e2eframework.ExpectNoError(err)
	_, err = f.ClientSet.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "ephemeralcontainers")
	if apierrors.IsForbidden(err) || apierrors.IsInvalid(err) || apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
		return nil, fmt.Sprintf("the API server rejects ephemeral container %s in pod %s: %v", ec.Name, pod.Name, err)
	}
	e2eframework.ExpectNoError(err, "adding ephemeral container %s to pod %s", ec.Name, pod.Name)
	running, reason, err := awaitOptional(ctx, f, pod.Name, "running ephemeral container "+ec.Name, func(p *v1.Pod) bool {
		for _, s := range p.Status.EphemeralContainerStatuses {
			if s.Name == ec.Name && s.State.Running != nil {
				return true
			}
		}
		return false
	})
	e2eframework.ExpectNoError(err)
	return running, reason
}

// awaitOptional polls pod name until done, until the cluster has refused the
// pod for refusalGrace (a skip reason), or until OptionalTimeout passes (an
// error).
func awaitOptional(ctx context.Context, f *e2eframework.Framework, name, what string, done func(*v1.Pod) bool) (*v1.Pod, string, error) {
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
		if reason = refusal(p); reason == "" {
			reason = sandbox
		}
		switch {
		case reason == "":
			refusedSince = time.Time{}
		case refusedSince.IsZero():
			refusedSince = time.Now()
		}
		return reason != "" && time.Since(refusedSince) >= refusalGrace, nil
	})
	if err != nil || done(p) {
		return p, "", err
	}
	return nil, fmt.Sprintf("pod %s/%s did not start: %s", f.Namespace.Name, name, reason), nil
}

// refusal is why the kubelet or runtime would not start pod, from its status,
// or "" when its status does not say so.
func refusal(p *v1.Pod) string {
	if p.Status.Phase == v1.PodFailed && p.Status.Reason != "" {
		return fmt.Sprintf("the kubelet failed the pod: %s: %s", p.Status.Reason, firstLine(p.Status.Message))
	}
	all := append(append(append([]v1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...), p.Status.EphemeralContainerStatuses...)
	for _, s := range all {
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

// WaitReady waits until pod name is Ready. Its error names what was seen last:
// container states and reasons, and the pod's warning events.
func WaitReady(ctx context.Context, f *e2eframework.Framework, name string, timeout time.Duration) (*v1.Pod, error) {
	return WaitFor(ctx, f, name, timeout, "Ready", func(p *v1.Pod) (bool, error) {
		if p.Status.Phase == v1.PodFailed || p.Status.Phase == v1.PodSucceeded {
			return false, fmt.Errorf("pod %s ended (%s) before becoming Ready: %s", name, p.Status.Phase, States(p))
		}
		return isReady(p), nil
	})
}

// WaitFor polls pod name until done says so, done fails, or timeout passes; what
// names the awaited condition in the timeout message.
func WaitFor(ctx context.Context, f *e2eframework.Framework, name string, timeout time.Duration, what string, done func(*v1.Pod) (bool, error)) (*v1.Pod, error) {
	deadline := time.Now().Add(timeout)
	var last *v1.Pod
	for {
		p, err := f.ClientSet.CoreV1().Pods(f.Namespace.Name).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			last = p
			ok, err := done(p)
			if err != nil {
				return p, err
			}
			if ok {
				return p, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			state := "never seen"
			if last != nil {
				state = States(last)
			}
			return last, fmt.Errorf("pod %s/%s not %s within %s: %s%s", f.Namespace.Name, name, what, timeout, state, warnings(ctx, f, name))
		}
		time.Sleep(pollInterval)
	}
}

// States is a one-line account of a pod's containers.
func States(p *v1.Pod) string {
	var parts []string
	all := append(append(append([]v1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...), p.Status.EphemeralContainerStatuses...)
	for _, s := range all {
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
func warnings(ctx context.Context, f *e2eframework.Framework, name string) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	evs, err := f.ClientSet.CoreV1().Events(f.Namespace.Name).List(ctx, metav1.ListOptions{
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
