package pods

import (
	"context"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	e2eframework "k8s.io/kubernetes/test/e2e/framework"
)

// fakeFramework is a framework on a fake clientset holding pod p, not Ready;
// forbidWatch makes the API server refuse watches on pods, as the kit's
// least-privilege role does.
func fakeFramework(t *testing.T, forbidWatch bool) (*e2eframework.Framework, *fake.Clientset) {
	t.Helper()
	canWatch.Store(true)
	t.Cleanup(func() { canWatch.Store(true) })
	c := fake.NewClientset(&v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}})
	if forbidWatch {
		c.PrependWatchReactor("pods", func(k8stesting.Action) (bool, watch.Interface, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", nil)
		})
	}
	return &e2eframework.Framework{ClientSet: c, Namespace: &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}}}, c
}

func makeReady(t *testing.T, c *fake.Clientset, after time.Duration) {
	time.AfterFunc(after, func() {
		p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"},
			Status: v1.PodStatus{Conditions: []v1.PodCondition{{Type: v1.PodReady, Status: v1.ConditionTrue}}}}
		if _, err := c.CoreV1().Pods("ns").Update(context.Background(), p, metav1.UpdateOptions{}); err != nil {
			t.Errorf("updating the pod: %v", err)
		}
	})
}

// A change is seen on the watch, and where watches are refused by polling.
func TestWaitForSeesTheChange(t *testing.T) {
	for _, forbid := range []bool{false, true} {
		f, c := fakeFramework(t, forbid)
		makeReady(t, c, 300*time.Millisecond)
		start := time.Now()
		p, err := WaitReady(context.Background(), f, "p", 10*time.Second)
		if err != nil || !isReady(p) {
			t.Fatalf("watch forbidden %t: %v, %+v", forbid, err, p)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("watch forbidden %t: Ready seen after %s", forbid, took)
		}
		if canWatch.Load() == forbid {
			t.Errorf("watch forbidden %t: canWatch %t", forbid, canWatch.Load())
		}
	}
}

// Between changes, the condition is judged again: one that depends on time
// ends the wait though the pod does not change.
func TestWaitForJudgesAgainBetweenChanges(t *testing.T) {
	f, _ := fakeFramework(t, false)
	deadline := time.Now().Add(600 * time.Millisecond)
	_, err := WaitFor(context.Background(), f, "p", 10*time.Second, "past the deadline", func(*v1.Pod) (bool, error) {
		return time.Now().After(deadline), nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The bound holds and the error says what was awaited and what was seen.
func TestWaitForTimesOutSayingWhat(t *testing.T) {
	f, _ := fakeFramework(t, false)
	start := time.Now()
	_, err := WaitReady(context.Background(), f, "p", 500*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "pod ns/p not Ready within 500ms: phase") {
		t.Fatalf("err %v", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("a 500ms wait took %s", took)
	}
}

// A pod deleted while awaited ends the wait at once; WaitGone sees it go.
func TestDeletedWhileAwaited(t *testing.T) {
	for _, forbid := range []bool{false, true} {
		f, c := fakeFramework(t, forbid)
		time.AfterFunc(300*time.Millisecond, func() { _ = c.CoreV1().Pods("ns").Delete(context.Background(), "p", metav1.DeleteOptions{}) })
		if err := WaitGone(context.Background(), f, "p", 10*time.Second); err != nil {
			t.Errorf("watch forbidden %t: %v", forbid, err)
		}
	}
	f, c := fakeFramework(t, false)
	time.AfterFunc(300*time.Millisecond, func() { _ = c.CoreV1().Pods("ns").Delete(context.Background(), "p", metav1.DeleteOptions{}) })
	start := time.Now()
	_, err := WaitReady(context.Background(), f, "p", 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "deleted while awaited") || time.Since(start) > 3*time.Second {
		t.Errorf("err %v after %s", err, time.Since(start))
	}
}
