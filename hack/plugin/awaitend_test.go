package main

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func pluginPod(name string, created time.Time, terminated bool) *corev1.Pod {
	state := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	if terminated {
		state = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "podsem-runner", CreationTimestamp: metav1.NewTime(created),
			Labels: map[string]string{"sonobuoy-plugin": "podsem"}},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{
			{Name: "sonobuoy-worker", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}},
			{Name: "plugin", State: state},
		}},
	}
}

func TestPluginEnd(t *testing.T) {
	since := time.Now().Truncate(time.Second)
	old := pluginPod("earlier-run", since.Add(-time.Minute), true)
	deleting := pluginPod("deleting", since, true)
	deleting.DeletionTimestamp = &metav1.Time{Time: since}
	running := pluginPod("running", since, false)
	failed := pluginPod("failed", since, false)
	failed.Status.Phase = corev1.PodFailed
	for _, tc := range []struct {
		name string
		pods []*corev1.Pod
		want string
	}{
		{"no pod yet", nil, ""},
		{"an earlier run's ended pod", []*corev1.Pod{old}, ""},
		{"a pod being deleted", []*corev1.Pod{deleting}, ""},
		{"only the worker ended", []*corev1.Pod{running}, ""},
		{"the plugin ended", []*corev1.Pod{old, pluginPod("this-run", since, true)}, "container plugin in pod this-run ended (exit 0)"},
		{"the pod failed", []*corev1.Pod{failed}, "pod failed failed"},
	} {
		var pods []corev1.Pod
		for _, p := range tc.pods {
			pods = append(pods, *p)
		}
		got := pluginEnd(pods, "plugin", since)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestAwaitPluginEnd(t *testing.T) {
	since := time.Now().Truncate(time.Second)
	client := fake.NewClientset(pluginPod("this-run", since, false))
	go func() {
		time.Sleep(2 * awaitEndPoll)
		_, _ = client.CoreV1().Pods("podsem-runner").UpdateStatus(context.Background(), pluginPod("this-run", since, true), metav1.UpdateOptions{})
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	end, err := awaitPluginEnd(ctx, client, "podsem-runner", "podsem", "plugin", since, func() bool { return true })
	if err != nil || !strings.Contains(end, "this-run ended") {
		t.Fatalf("got %q, %v; want the end of this-run", end, err)
	}

	// It gives up, with a reason, when the run ends first or the time is up.
	still := fake.NewClientset(pluginPod("still-running", since, false))
	if _, err := awaitPluginEnd(ctx, still, "podsem-runner", "podsem", "plugin", since, func() bool { return false }); err == nil ||
		!strings.Contains(err.Error(), "sonobuoy run ended") {
		t.Errorf("run ended: got %v, want the run's end as the reason", err)
	}
	short, cancelShort := context.WithTimeout(context.Background(), 3*awaitEndPoll)
	defer cancelShort()
	if _, err := awaitPluginEnd(short, still, "podsem-runner", "podsem", "plugin", since, func() bool { return true }); err == nil ||
		!strings.Contains(err.Error(), "did not end in time") {
		t.Errorf("timeout: got %v, want a timeout", err)
	}
}
