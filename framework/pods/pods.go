// Package pods starts fixture pods in a spec's namespace and waits for them with
// bounded waits whose failures say what the pod was doing.
package pods

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	e2eframework "k8s.io/kubernetes/test/e2e/framework"

	"github.com/podsem/podsem/fixtures"
	"github.com/podsem/podsem/framework/config"
)

// ReadyTimeout bounds how long a fixture pod may take to become Ready.
const ReadyTimeout = time.Minute

const pollInterval = 250 * time.Millisecond

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
	created := make([]*v1.Pod, 0, len(pods))
	for _, p := range pods {
		c, err := f.ClientSet.CoreV1().Pods(f.Namespace.Name).Create(ctx, p, metav1.CreateOptions{})
		e2eframework.ExpectNoError(err, "creating pod %s", p.Name)
		created = append(created, c)
	}
	for i, p := range created {
		ready, err := WaitReady(ctx, f, p.Name, ReadyTimeout)
		e2eframework.ExpectNoError(err)
		created[i] = ready
		ginkgo.AddReportEntry("pod "+p.Name, Summary(ready), ginkgo.ReportEntryVisibilityFailureOrVerbose)
	}
	return created
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
		for _, c := range p.Status.Conditions {
			if c.Type == v1.PodReady && c.Status == v1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
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
	all := append(append([]v1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
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
