package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
	kindcmd "sigs.k8s.io/kind/pkg/cmd"
)

const (
	// hostResults is the node directory under which each plugin pod's results
	// volume lives (sonobuoy gives it an emptyDir, which the harness could not read
	// after the pod is deleted, nor find as easily on the node).
	hostResults = "/var/lib/podsem-results"
	// progressEvery spaces the progress lines while the pod runs.
	progressEvery = 30 * time.Second
	pollEvery     = 2 * time.Second
	// unschedulableWait is how long the pod may stay unschedulable.
	unschedulableWait = time.Minute
	logTail           = 40
	apiTimeout        = 10 * time.Second
)

// run does the whole check and returns the closing line, or the error line.
func run(ctx context.Context, o options) (string, error) {
	plugin, err := loadPlugin(o.plugin, o.version)
	if err != nil {
		return "", err
	}
	rbac, err := loadRBAC(o.rbac)
	if err != nil {
		return "", err
	}
	provider := cluster.NewProvider(cluster.ProviderWithDocker(), cluster.ProviderWithLogger(kindcmd.NewLogger()))
	kindNodes, err := provider.ListInternalNodes(o.name)
	if err != nil || len(kindNodes) == 0 {
		return "", fmt.Errorf("kind cluster %s has no nodes (is Docker up? `make kind-up` creates the cluster)", o.name)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return "", usageError{fmt.Errorf("kubeconfig %s: %v", o.kubeconfig, firstLine(err.Error()))}
	}
	cfg.Timeout = apiTimeout
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", usageError{fmt.Errorf("kubeconfig %s: %v", o.kubeconfig, err)}
	}
	if err := imagesOnNodes(kindNodes, o.name, pluginImages(plugin)); err != nil {
		return "", err
	}
	if err := applyRBAC(ctx, client, rbac); err != nil {
		return "", err
	}

	name := "podsem-" + plugin.SonobuoyConfig.PluginName + "-" + randomSuffix()
	profileMap, profileVolume, profileMount, err := o.judging.apply(plugin, rbac.ServiceAccount.Namespace, name+"-profile")
	if err != nil {
		return "", err
	}
	pod := runnerPod(plugin, rbac, name)
	c := &pod.Spec.Containers[len(pod.Spec.Containers)-1]
	ns := pod.Namespace
	hostDir := pod.Spec.Volumes[len(pod.Spec.Volumes)-1].HostPath.Path
	if profileMap != nil {
		if _, err := client.CoreV1().ConfigMaps(ns).Create(ctx, profileMap, metav1.CreateOptions{}); err != nil {
			return "", fmt.Errorf("creating ConfigMap %s/%s for the profile: %v", ns, profileMap.Name, firstLine(err.Error()))
		}
		defer func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), apiTimeout)
			defer cancel()
			if err := client.CoreV1().ConfigMaps(ns).Delete(ctx, profileMap.Name, metav1.DeleteOptions{}); err != nil {
				logf("deleting ConfigMap %s/%s: %v", ns, profileMap.Name, err)
			}
		}()
		pod.Spec.Volumes = append([]corev1.Volume{*profileVolume}, pod.Spec.Volumes...)
		c.VolumeMounts = append(c.VolumeMounts, *profileMount)
	}
	start := time.Now()
	if _, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return "", fmt.Errorf("creating pod %s/%s: %v", ns, pod.Name, firstLine(err.Error()))
	}
	logf("pod %s/%s created: ServiceAccount %s, image %s, args %s; results on the node in %s",
		ns, pod.Name, pod.Spec.ServiceAccountName, plugin.Spec.Image, strings.Join(plugin.Spec.Args, " "), hostDir)
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), apiTimeout)
		defer cancel()
		if err := client.CoreV1().Pods(ns).Delete(ctx, pod.Name, metav1.DeleteOptions{}); err != nil {
			logf("deleting pod %s/%s: %v", ns, pod.Name, err)
		}
	}()

	ended, waitErr := awaitEnd(ctx, client, ns, pod.Name, start, o.timeout)
	elapsed := time.Since(start).Round(time.Second)
	printLogTail(ctx, client, ns, pod.Name, plugin.Spec.Name)
	// The results directory goes once the run has passed, unless --keep; after a
	// failure it stays, for a look at what the plugin left.
	passed := false
	if ended != nil && ended.Spec.NodeName != "" {
		if node, err := nodeNamed(kindNodes, ended.Spec.NodeName); err == nil {
			defer func() {
				if passed && !o.keep {
					_ = node.Command("rm", "-rf", hostDir).Run()
				} else {
					logf("results left on node %s in %s", node, hostDir)
				}
			}()
		}
	}
	if waitErr != nil {
		return "", waitErr
	}
	node, err := nodeNamed(kindNodes, ended.Spec.NodeName)
	if err != nil {
		return "", err
	}

	mount := resultsMount(plugin.Spec)
	parts := []string{fmt.Sprintf("pod %s/%s %s in %s%s", ns, pod.Name, ended.Status.Phase, elapsed, exitDetail(ended, plugin.Spec.Name))}
	failed := ended.Status.Phase != corev1.PodSucceeded
	junitPart, ok := checkJUnit(node, hostDir, mount, o.judging.profile)
	parts = append(parts, junitPart)
	failed = failed || !ok
	donePart, ok := checkDone(node, hostDir, mount)
	parts = append(parts, donePart)
	failed = failed || !ok
	line := strings.Join(parts, "; ")
	if failed {
		return "", fmt.Errorf("%s", line)
	}
	passed = true
	return line, nil
}

// runnerPod is the pod sonobuoy's Job driver would make of the plugin (its
// default Job podSpec, or the plugin's podSpec), as the RBAC file's
// ServiceAccount, with the results volume on the node instead of an emptyDir
// and without sonobuoy's worker sidecar: the harness plays the worker's part.
func runnerPod(p *Plugin, r *RBAC, name string) *corev1.Pod {
	spec := corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever,
		NodeSelector:  map[string]string{"kubernetes.io/os": "linux"},
		Tolerations: []corev1.Toleration{
			{Key: "node-role.kubernetes.io/master", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
			{Key: "CriticalAddonsOnly", Operator: corev1.TolerationOpExists},
			{Key: "kubernetes.io/e2e-evict-taint-key", Operator: corev1.TolerationOpExists},
		},
	}
	if p.PodSpec != nil {
		spec = *p.PodSpec.DeepCopy()
	}
	spec.ServiceAccountName = r.ServiceAccount.Name
	spec.Containers = append(spec.Containers, *p.Spec.DeepCopy())
	dirType := corev1.HostPathDirectoryOrCreate
	spec.Volumes = append(spec.Volumes, corev1.Volume{
		Name: resultsVolume,
		VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
			Path: path.Join(hostResults, name), Type: &dirType,
		}},
	})
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: r.ServiceAccount.Namespace,
			Labels:    map[string]string{"app.kubernetes.io/name": "podsem-incluster", "sonobuoy-plugin": p.SonobuoyConfig.PluginName},
		},
		Spec: spec,
	}
}

// pluginImages are the images the plugin pod and its fixture pods need on the
// nodes: the container's, and the fixture image after --image.
func pluginImages(p *Plugin) []string {
	images := []string{p.Spec.Image}
	if img, ok := flagValue(p.Spec.Args, "--image"); ok && img != p.Spec.Image {
		images = append(images, img)
	}
	return images
}

// imagesOnNodes fails, with the fix, when an image is not on every node: the
// kind cluster pulls nothing.
func imagesOnNodes(kindNodes []nodes.Node, cluster string, images []string) error {
	for _, img := range images {
		for _, n := range kindNodes {
			if _, err := nodeutils.ImageID(n, img); err != nil {
				return fmt.Errorf("image %s is not on node %s: load it (`bin/cluster load --name %s %s`)", img, n, cluster, img)
			}
		}
	}
	return nil
}

// awaitEnd polls the pod until it has Succeeded or Failed, printing a progress
// line every progressEvery. It fails fast when the pod cannot start: an image
// that cannot be had, a container the kubelet cannot create, no node for it.
func awaitEnd(ctx context.Context, client kubernetes.Interface, ns, name string, start time.Time, timeout time.Duration) (*corev1.Pod, error) {
	deadline := start.Add(timeout)
	nextProgress := start.Add(progressEvery)
	var last *corev1.Pod
	for {
		reqCtx, cancel := context.WithTimeout(ctx, apiTimeout)
		p, err := client.CoreV1().Pods(ns).Get(reqCtx, name, metav1.GetOptions{})
		cancel()
		if err == nil {
			last = p
			switch p.Status.Phase {
			case corev1.PodSucceeded, corev1.PodFailed:
				return p, nil
			}
			if reason := stuck(p, start); reason != "" {
				return p, fmt.Errorf("pod %s/%s cannot run: %s", ns, name, reason)
			}
		}
		now := time.Now()
		if now.After(deadline) {
			return last, fmt.Errorf("pod %s/%s %s after %s: timed out (--timeout %s)", ns, name, describe(last), timeout, timeout)
		}
		if now.After(nextProgress) {
			nextProgress = nextProgress.Add(progressEvery)
			logf("pod %s/%s %s, %s elapsed", ns, name, describe(last), now.Sub(start).Round(time.Second))
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("interrupted while pod %s/%s was %s", ns, name, describe(last))
		case <-time.After(pollEvery):
		}
	}
}

// stuckWaiting are the waiting reasons of a container that will not start by
// itself in a cluster that pulls nothing.
var stuckWaiting = []string{"ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError"}

// stuck says why the pod will never run, or "".
func stuck(p *corev1.Pod, start time.Time) string {
	for _, s := range p.Status.ContainerStatuses {
		if w := s.State.Waiting; w != nil && slices.Contains(stuckWaiting, w.Reason) {
			return fmt.Sprintf("container %s: %s: %s", s.Name, w.Reason, firstLine(w.Message))
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable &&
			time.Since(start) > unschedulableWait {
			return fmt.Sprintf("unschedulable for %s: %s", unschedulableWait, firstLine(c.Message))
		}
	}
	return ""
}

// describe is the pod's phase, and where it runs.
func describe(p *corev1.Pod) string {
	if p == nil {
		return "not seen yet"
	}
	s := string(p.Status.Phase)
	if p.Spec.NodeName != "" {
		s += " on " + p.Spec.NodeName
	}
	for _, c := range p.Status.ContainerStatuses {
		if w := c.State.Waiting; w != nil && w.Reason != "" {
			s += " (" + c.Name + " waiting: " + w.Reason + ")"
		}
	}
	return s
}

// exitDetail is how the plugin container ended, when it did not exit 0.
func exitDetail(p *corev1.Pod, container string) string {
	for _, s := range p.Status.ContainerStatuses {
		if t := s.State.Terminated; s.Name == container && t != nil && t.ExitCode != 0 {
			return fmt.Sprintf(" (container %s exited %d, %s)", container, t.ExitCode, t.Reason)
		}
	}
	return ""
}

// printLogTail prints the last lines of the plugin container's log.
func printLogTail(ctx context.Context, client kubernetes.Interface, ns, name, container string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), apiTimeout)
	defer cancel()
	tail := int64(logTail)
	raw, err := client.CoreV1().Pods(ns).GetLogs(name, &corev1.PodLogOptions{Container: container, TailLines: &tail}).DoRaw(ctx)
	if err != nil {
		logf("no log from pod %s/%s: %s", ns, name, firstLine(err.Error()))
		return
	}
	logf("last %d lines of the log of pod %s/%s:", logTail, ns, name)
	for _, l := range strings.Split(strings.TrimRight(string(raw), "\n"), "\n") {
		fmt.Fprintln(os.Stderr, "  | "+l)
	}
}

// nodeNamed is the kind node the pod ran on.
func nodeNamed(kindNodes []nodes.Node, name string) (nodes.Node, error) {
	for _, n := range kindNodes {
		if n.String() == name {
			return n, nil
		}
	}
	return nil, fmt.Errorf("the pod ran on node %q, which is not a node of this kind cluster", name)
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
