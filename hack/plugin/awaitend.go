package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// awaitEndPoll is how often await-end looks at the plugin's pod.
const awaitEndPoll = 500 * time.Millisecond

// awaitEndCmd waits until the plugin container of a sonobuoy run started from
// now on has ended. It only orders the kit's checks (hack/e2e-kit.sh runs its
// own sample once the plugin's has ended, while sonobuoy's aggregator waits
// for its next look at the plugin): it checks nothing, and the caller goes on
// whatever it returns.
func awaitEndCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("plugin await-end", flag.ContinueOnError)
	var (
		pluginFile, rbacFile, kubeconfig string
		timeout                          time.Duration
		whilePID                         int
	)
	fs.StringVar(&pluginFile, "plugin", "", "the kit's sonobuoy plugin (sonobuoy/podsem.yaml): its name and container")
	fs.StringVar(&rbacFile, "rbac", "", "the kit's RBAC file (sonobuoy/rbac.yaml): the namespace sonobuoy runs in")
	fs.StringVar(&kubeconfig, "kubeconfig", "", "a kubeconfig of the cluster sonobuoy runs on")
	fs.DurationVar(&timeout, "timeout", 2*time.Minute, "give up after this long")
	fs.IntVar(&whilePID, "while-pid", 0, "give up once the process with this PID (the sonobuoy run) has ended")
	if err := fs.Parse(args); err != nil {
		return usageError{fmt.Errorf("plugin await-end: bad flags")}
	}
	switch {
	case fs.NArg() > 0:
		return usageError{fmt.Errorf("plugin await-end: unexpected argument %q", fs.Arg(0))}
	case pluginFile == "" || rbacFile == "" || kubeconfig == "":
		return usageError{fmt.Errorf("plugin await-end needs --plugin, --rbac and --kubeconfig")}
	case timeout <= 0:
		return usageError{fmt.Errorf("plugin await-end: --timeout %s: want a duration above 0", timeout)}
	}
	p, err := loadPlugin(pluginFile, "", false)
	if err != nil {
		return err
	}
	r, err := loadRBAC(rbacFile)
	if err != nil {
		return err
	}
	client, err := clientFor(kubeconfig)
	if err != nil {
		return err
	}
	alive := func() bool { return true }
	if whilePID > 0 {
		alive = func() bool { return !errors.Is(syscall.Kill(whilePID, 0), syscall.ESRCH) }
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// creationTimestamp has whole seconds: a pod of this run is at least as new
	// as this second, one an earlier run left is older.
	start := time.Now()
	since := start.Truncate(time.Second)
	end, err := awaitPluginEnd(ctx, client, r.ServiceAccount.Namespace, p.SonobuoyConfig.PluginName, p.Spec.Name, since, alive)
	if err != nil {
		return fmt.Errorf("after %.1fs: %w", time.Since(start).Seconds(), err)
	}
	logf("%s after %.1fs", end, time.Since(start).Seconds())
	return nil
}

// awaitPluginEnd polls the pods of plugin in namespace, created at since or
// later and not being deleted, until its container has terminated (or its pod
// has failed), and says which; it gives up when ctx ends or alive says the
// run has ended.
func awaitPluginEnd(ctx context.Context, client kubernetes.Interface, namespace, plugin, container string, since time.Time, alive func() bool) (string, error) {
	selector := "sonobuoy-plugin=" + plugin
	var lastErr error
	for {
		pods, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err == nil {
			if end := pluginEnd(pods.Items, container, since); end != "" {
				return end, nil
			}
		} else {
			lastErr = err
		}
		if !alive() {
			return "", fmt.Errorf("the sonobuoy run ended before the container %s of plugin %s in %s did", container, plugin, namespace)
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return "", fmt.Errorf("the container %s of plugin %s in %s did not end in time (last API error: %v)", container, plugin, namespace, firstLine(lastErr.Error()))
			}
			return "", fmt.Errorf("the container %s of plugin %s in %s did not end in time", container, plugin, namespace)
		case <-time.After(awaitEndPoll):
		}
	}
}

// pluginEnd says how the container ended in the first of pods, created at
// since or later and not being deleted, where it has; "" while none has.
func pluginEnd(pods []corev1.Pod, container string, since time.Time) string {
	for _, pod := range pods {
		if pod.DeletionTimestamp != nil || pod.CreationTimestamp.Time.Before(since) {
			continue
		}
		if pod.Status.Phase == corev1.PodFailed {
			return fmt.Sprintf("the sonobuoy plugin's pod %s failed", pod.Name)
		}
		for _, s := range pod.Status.ContainerStatuses {
			if s.Name == container && s.State.Terminated != nil {
				return fmt.Sprintf("the sonobuoy plugin's container %s in pod %s ended (exit %d)", container, pod.Name, s.State.Terminated.ExitCode)
			}
		}
	}
	return ""
}
