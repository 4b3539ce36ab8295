package preflight

import (
	"context"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/podsem/podsem/framework/config"
)

// imageCheckTimeout bounds the image check pod, within the preflight budget.
const imageCheckTimeout = 15 * time.Second

// imageRuns starts one podprobe container with the suite's image, pull policy and
// RuntimeClass, in a namespace of its own, and reports why it does not run:
// the image is not on the node (ErrImageNeverPull), cannot be pulled, or the
// runtime refuses it. A pull still under way at the deadline is not an error: a
// slow registry is not a broken one. It says how the image was checked.
func imageRuns(ctx context.Context, client kubernetes.Interface, s config.Settings) (string, error) {
	ns, err := client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{
		GenerateName: "podsem-preflight-",
		Labels:       map[string]string{frameworkLabel: "podsem-preflight"},
	}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("creating the image check namespace: %s", reason(err))
	}
	defer func() {
		_ = client.CoreV1().Namespaces().Delete(context.WithoutCancel(ctx), ns.Name, metav1.DeleteOptions{})
	}()
	deadline := time.Now().Add(imageCheckTimeout)
	if err := awaitDefaultServiceAccount(ctx, client, ns.Name, deadline); err != nil {
		return "", err
	}
	grace := int64(0)
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "image-check"},
		Spec: v1.PodSpec{
			TerminationGracePeriodSeconds: &grace,
			Containers: []v1.Container{{
				Name: "podprobe", Image: s.Image, ImagePullPolicy: s.PullPolicy, Args: []string{"sleep"},
			}},
		},
	}
	if s.RuntimeClass != "" {
		pod.Spec.RuntimeClassName = &s.RuntimeClass
	}
	if _, err := client.CoreV1().Pods(ns.Name).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return "", fmt.Errorf("creating the image check pod: %s", reason(err))
	}
	last, pulling := "not scheduled", false
	for time.Now().Before(deadline) {
		p, err := client.CoreV1().Pods(ns.Name).Get(ctx, pod.Name, metav1.GetOptions{})
		if err == nil && len(p.Status.ContainerStatuses) > 0 {
			st := p.Status.ContainerStatuses[0].State
			switch {
			case st.Running != nil:
				return "checked with a pod", nil
			case st.Waiting != nil && st.Waiting.Reason == "ErrImageNeverPull":
				return "", fmt.Errorf("image %s is not on the node and pull policy is Never: %s", s.Image, s.ImageHelp)
			case st.Waiting != nil && (st.Waiting.Reason == "ErrImagePull" || st.Waiting.Reason == "ImagePullBackOff"):
				return "", fmt.Errorf("image %s is not on the node and the node cannot pull it (%s: %s): %s", s.Image, st.Waiting.Reason, trim(firstLine(st.Waiting.Message), 160), s.ImageHelp)
			case st.Waiting != nil && st.Waiting.Reason != "" && st.Waiting.Reason != "ContainerCreating":
				last = st.Waiting.Reason + ": " + firstLine(st.Waiting.Message)
			default:
				last, pulling = "being created", true
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("image check pod not running: %s", last)
		case <-time.After(250 * time.Millisecond):
		}
	}
	if s.PullPolicy != v1.PullNever && pulling {
		return "still pulling when the preflight ended", nil
	}
	return "", fmt.Errorf("a pod with image %s and RuntimeClass %s is not running within %s: %s", s.Image, runtimeClassName(s), imageCheckTimeout, last)
}

// awaitDefaultServiceAccount waits until namespace ns has its default
// ServiceAccount, without which the API server refuses every pod: the
// controller manager creates it a moment after the namespace, later on a node
// that has just restarted (seen: "serviceaccount "default" not found" right
// after a Docker restart). It lists by name, as the e2e framework does, which is
// what the kit's ServiceAccount may do.
func awaitDefaultServiceAccount(ctx context.Context, client kubernetes.Interface, ns string, deadline time.Time) error {
	opts := metav1.ListOptions{FieldSelector: "metadata.name=default"}
	for {
		list, err := client.CoreV1().ServiceAccounts(ns).List(ctx, opts)
		if err == nil && len(list.Items) > 0 {
			return nil
		}
		last := "not created yet"
		if err != nil {
			last = reason(err)
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("the image check namespace %s has no default ServiceAccount within %s: %s", ns, imageCheckTimeout, last)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the image check namespace %s has no default ServiceAccount: %s", ns, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// trim shortens s to n bytes, marking the cut.
func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
