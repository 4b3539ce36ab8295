// Package preflight checks, within seconds and before any spec runs, that the
// cluster can run the suite, and says in one line what is wrong and how to fix it.
package preflight

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/podsem/podsem/framework/config"
)

// Budget bounds the whole preflight.
const Budget = 20 * time.Second

// requestTimeout bounds each API call, so an unreachable server fails fast.
const requestTimeout = 5 * time.Second

// Client builds a clientset from a kubeconfig path with short request timeouts.
func Client(kubeconfig string) (kubernetes.Interface, *rest.Config, error) {
	if kubeconfig == "" {
		return nil, nil, errors.New("no kubeconfig: pass --kubeconfig or set KUBECONFIG (make e2e uses the kind cluster's bin/kubeconfig)")
	}
	if _, err := os.Stat(kubeconfig); err != nil {
		return nil, nil, fmt.Errorf("kubeconfig %s: %v", kubeconfig, errors.Unwrap(err))
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, nil, fmt.Errorf("kubeconfig %s is not usable: %s", kubeconfig, firstLine(err.Error()))
	}
	cfg.Timeout = requestTimeout
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("kubeconfig %s: %v", kubeconfig, err)
	}
	return client, cfg, nil
}

// Run checks the cluster behind kubeconfig against the suite's settings: the API
// server answers, the RuntimeClass exists, a node is schedulable, and, with pull
// policy Never, the podprobe image is on a schedulable node. It returns a summary
// of what it found, or the first problem.
func Run(ctx context.Context, kubeconfig string, s config.Settings) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, Budget)
	defer cancel()
	client, cfg, err := Client(kubeconfig)
	if err != nil {
		return "", err
	}
	version, err := client.Discovery().ServerVersion()
	if err != nil {
		return "", fmt.Errorf("cluster unreachable at %s: %s (is it up? `make kind-up` starts the kind cluster)", host(cfg), reason(err))
	}

	if s.RuntimeClass != "" {
		if _, err := client.NodeV1().RuntimeClasses().Get(ctx, s.RuntimeClass, metav1.GetOptions{}); err != nil {
			if !apierrors.IsNotFound(err) {
				return "", fmt.Errorf("reading RuntimeClass %s: %s", s.RuntimeClass, reason(err))
			}
			return "", fmt.Errorf("RuntimeClass %q does not exist; the cluster has: %s", s.RuntimeClass, runtimeClasses(ctx, client))
		}
	}

	// A node just created keeps its not-ready taint for a moment: wait, within budget.
	for {
		nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return "", fmt.Errorf("listing nodes: %s", reason(err))
		}
		schedulable := Schedulable(nodes.Items)
		// With pull policy Always the node's copy does not count: the pod must pull.
		if len(schedulable) > 0 && s.PullPolicy != v1.PullAlways && anyHasImage(schedulable, s.Image) {
			return fmt.Sprintf("cluster %s (Kubernetes %s), %d schedulable node(s), RuntimeClass %s, image %s",
				host(cfg), version.GitVersion, len(schedulable), runtimeClassName(s), s.Image), nil
		}
		if len(schedulable) > 0 {
			// Node status lists images with a delay of up to a minute, and at
			// most five names per image; a pod that uses the image is the
			// authority, unless a preflight just asked one.
			checked := "checked by the preflight before the suite"
			if !s.ImageChecked {
				if checked, err = imageRuns(ctx, client, s); err != nil {
					return "", err
				}
			}
			return fmt.Sprintf("cluster %s (Kubernetes %s), %d schedulable node(s), RuntimeClass %s, image %s (%s)",
				host(cfg), version.GitVersion, len(schedulable), runtimeClassName(s), s.Image, checked), nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no schedulable node: of %d node(s) none is Ready, free of NoSchedule taints and not cordoned", len(nodes.Items))
		case <-time.After(time.Second):
		}
	}
}

func runtimeClassName(s config.Settings) string {
	if s.RuntimeClass == "" {
		return "(default)"
	}
	return s.RuntimeClass
}

// Schedulable returns the nodes a fixture pod can land on.
func Schedulable(nodes []v1.Node) []v1.Node {
	var out []v1.Node
	for _, n := range nodes {
		if n.Spec.Unschedulable {
			continue
		}
		ready, tainted := false, false
		for _, c := range n.Status.Conditions {
			if c.Type == v1.NodeReady && c.Status == v1.ConditionTrue {
				ready = true
			}
		}
		for _, t := range n.Spec.Taints {
			if t.Effect == v1.TaintEffectNoSchedule || t.Effect == v1.TaintEffectNoExecute {
				tainted = true
			}
		}
		if ready && !tainted {
			out = append(out, n)
		}
	}
	return out
}

func anyHasImage(nodes []v1.Node, image string) bool {
	want := normalize(image)
	for _, n := range nodes {
		for _, img := range n.Status.Images {
			for _, name := range img.Names {
				if normalize(name) == want {
					return true
				}
			}
		}
	}
	return false
}

// normalize spells an image reference the way the kubelet reports it.
func normalize(ref string) string {
	name := ref
	if i := strings.IndexByte(name, '/'); i < 0 || !strings.ContainsAny(name[:i], ".:") && name[:i] != "localhost" {
		if i < 0 {
			name = "library/" + name
		}
		name = "docker.io/" + name
	}
	if !strings.Contains(name[strings.LastIndexByte(name, '/')+1:], ":") && !strings.Contains(name, "@") {
		name += ":latest"
	}
	return name
}

func runtimeClasses(ctx context.Context, client kubernetes.Interface) string {
	list, err := client.NodeV1().RuntimeClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return "(cannot list: " + reason(err) + ")"
	}
	var names []string
	for _, rc := range list.Items {
		names = append(names, rc.Name)
	}
	if len(names) == 0 {
		return "none"
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func host(cfg *rest.Config) string {
	if u, err := url.Parse(cfg.Host); err == nil && u.Host != "" {
		return u.Host
	}
	return cfg.Host
}

// reason shortens client errors to their cause.
func reason(err error) string {
	msg := firstLine(err.Error())
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(msg, "Client.Timeout") || strings.Contains(msg, "deadline exceeded") {
		return "no answer within " + requestTimeout.String()
	}
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.Contains(msg, "dial tcp") {
		return msg[i+2:]
	}
	return msg
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
