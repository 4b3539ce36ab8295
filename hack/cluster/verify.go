package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// kernelMarks says what a handler's pods must see in /proc/version, so that a
// sandboxed runtime silently falling back to runc can never pass as itself.
var kernelMarks = map[string]string{
	"gvisor": "gvisor",
}

const verifyTimeout = 60 * time.Second

// verifyHandlers runs one podprobe pod per handler with a kernel mark and checks
// the kernel it reports.
func verifyHandlers(ctx context.Context, client kubernetes.Interface, image string, handlers []string) error {
	for _, h := range handlers {
		mark, ok := kernelMarks[h]
		if !ok {
			continue
		}
		start := time.Now()
		kernel, err := kernelUnder(ctx, client, image, h)
		if err != nil {
			return fmt.Errorf("RuntimeClass %s: %w", h, err)
		}
		if !strings.Contains(kernel, mark) {
			return fmt.Errorf("RuntimeClass %s: pods see kernel %q, not %s's", h, kernel, h)
		}
		logf("RuntimeClass %s verified: pods see %q (%s)", h, kernel, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// kernelUnder runs `podprobe file read /proc/version` as a one-shot pod under
// RuntimeClass handler and returns what it read, from the pod's log.
func kernelUnder(ctx context.Context, client kubernetes.Interface, image, handler string) (string, error) {
	pod := oneShot("podsem-verify-"+handler+"-", image, "file", "read", "/proc/version")
	pod.Spec.RuntimeClassName = &handler
	raw, err := runOnce(ctx, client, metav1.NamespaceDefault, pod)
	if err != nil {
		return "", err
	}
	var read struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(raw, &read); err != nil || read.Content == "" {
		return "", fmt.Errorf("the check pod printed %q, not podprobe's file read", raw)
	}
	return strings.TrimSpace(read.Content), nil
}

// runOnce creates a one-shot pod, waits (up to verifyTimeout) for it to end,
// deletes it, and returns its log.
func runOnce(ctx context.Context, client kubernetes.Interface, ns string, pod *corev1.Pod) ([]byte, error) {
	created, err := createPod(ctx, client, ns, pod)
	if err != nil {
		return nil, err
	}
	grace := int64(0)
	defer func() {
		_ = client.CoreV1().Pods(ns).Delete(context.WithoutCancel(ctx), created.Name, metav1.DeleteOptions{GracePeriodSeconds: &grace})
	}()
	deadline := time.Now().Add(verifyTimeout)
	for {
		p, err := client.CoreV1().Pods(ns).Get(ctx, created.Name, metav1.GetOptions{})
		if err == nil && (p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed) {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("check pod %s/%s did not finish within %s", ns, created.Name, verifyTimeout)
		}
		time.Sleep(250 * time.Millisecond)
	}
	raw, err := client.CoreV1().Pods(ns).GetLogs(created.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading check pod %s/%s's log: %w", ns, created.Name, err)
	}
	return raw, nil
}

// createPod creates pod in ns. A namespace just created has no default
// ServiceAccount yet, and admission refuses pods until it has.
func createPod(ctx context.Context, client kubernetes.Interface, ns string, pod *corev1.Pod) (*corev1.Pod, error) {
	deadline := time.Now().Add(verifyTimeout)
	for {
		created, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		if err == nil {
			return created, nil
		}
		if !strings.Contains(err.Error(), "serviceaccount") || time.Now().After(deadline) {
			return nil, fmt.Errorf("creating check pod %s/%s%s: %w", ns, pod.GenerateName, pod.Name, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// podIP waits (up to verifyTimeout) for a pod to run and returns its IP.
func podIP(ctx context.Context, client kubernetes.Interface, ns, name string) (string, error) {
	deadline := time.Now().Add(verifyTimeout)
	for {
		p, err := client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil && p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" {
			return p.Status.PodIP, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return "", fmt.Errorf("pod %s/%s is not running with an IP within %s", ns, name, verifyTimeout)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
