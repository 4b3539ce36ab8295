package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	kindcmd "sigs.k8s.io/kind/pkg/cmd"
)

const (
	// healthWait bounds how long an existing cluster may take to prove itself
	// healthy before it is recreated (a restarted dockerd can bring back broken nodes).
	healthWait = 20 * time.Second
	createWait = 3 * time.Minute
	// stampName is a ConfigMap in kube-system recording what the cluster was made from.
	stampName = "podsem-cluster"
)

// stamp identifies the inputs of a cluster: node image and cluster config.
func stamp(image string, config []byte) map[string]string {
	return map[string]string{
		"node-image":  image,
		"kind-config": configDigest(config),
	}
}

func up(ctx context.Context, o options) error {
	if o.image == "" {
		return errors.New("cluster up needs --image (the node image; `make node-image` builds it)")
	}
	if o.dnsImage == "" {
		return errors.New("cluster up needs --dns-image (the CoreDNS image; hack/build-coredns.sh builds it)")
	}
	if len(o.load) == 0 {
		return errors.New("cluster up needs --load with the podprobe image (it checks the cluster with it)")
	}
	if o.runsc != "" {
		if fi, err := os.Stat(o.runsc); err != nil || !fi.Mode().IsRegular() {
			return fmt.Errorf("--runsc %s: no such file (hack/build-gvisor.sh builds runsc; --path prints where)", o.runsc)
		}
	}
	if _, err := docker(10*time.Second, "image", "inspect", "--format", "{{.Id}}", o.image); err != nil {
		return fmt.Errorf("node image %s is not built: run `make node-image`", o.image)
	}
	handlers, err := runtimeHandlers(o.handlers)
	if err != nil {
		return err
	}
	provider := cluster.NewProvider(cluster.ProviderWithDocker(), cluster.ProviderWithLogger(kindcmd.NewLogger()))
	start := time.Now()

	names, err := provider.List()
	if err != nil {
		return fmt.Errorf("listing kind clusters: %w", err)
	}
	exists := slices.Contains(names, o.name)
	// Without --nodes, a cluster keeps the shape it has (a new one has one node).
	nodes := o.nodes
	if nodes == 0 {
		nodes = 1
		if existing, err := provider.ListNodes(o.name); exists && err == nil && len(existing) > 0 {
			nodes = len(existing)
		}
	}
	config, err := clusterConfig(nodes)
	if err != nil {
		return err
	}
	if exists {
		reason := checkExisting(ctx, provider, o, nodes, config)
		if reason == "" {
			if err := confinePods(provider, o.name); err != nil {
				return err
			}
			// Built locally; it asks the API server only once a runsc is installed.
			client, err := clientFor(o.kubeconfig)
			if err != nil {
				return err
			}
			handlers, installed, err := placeRunsc(ctx, provider, client, o, handlers)
			if err != nil {
				return err
			}
			if err := ensureRuntimeClasses(ctx, o.kubeconfig, handlers); err != nil {
				return err
			}
			if err := load(o, append(o.load, o.dnsImage)); err != nil {
				return err
			}
			// A runsc new on the nodes is checked as a new cluster's is.
			if installed {
				if err := verifyHandlers(ctx, client, o.load[0], []string{gvisorHandler}); err != nil {
					return err
				}
			}
			logf("cluster %s is up to date and healthy (checked in %s)", o.name, time.Since(start).Round(time.Millisecond))
			printUse(o)
			return nil
		}
		logf("cluster %s: %s; recreating it", o.name, reason)
		if err := deleteCluster(provider, o.name, ""); err != nil {
			return fmt.Errorf("deleting cluster %s: %w", o.name, err)
		}
	}

	if clash, _ := docker(10*time.Second, "ps", "-a", "--filter", "name=^/"+o.name+"-control-plane$", "--format", "{{.Names}}"); clash != "" {
		return fmt.Errorf("a container named %s exists but is not part of kind cluster %s: remove it (docker rm -f %s) or choose another name", clash, o.name, clash)
	}
	if err := os.MkdirAll(filepath.Dir(o.kubeconfig), 0o755); err != nil {
		return err
	}
	logf("creating kind cluster %s (%s) from %s", o.name, shape(nodes), o.image)
	err = provider.Create(o.name,
		cluster.CreateWithRawConfig(config),
		cluster.CreateWithNodeImage(o.image),
		cluster.CreateWithWaitForReady(createWait),
		cluster.CreateWithKubeconfigPath(o.kubeconfig),
		cluster.CreateWithDisplayUsage(false),
		cluster.CreateWithDisplaySalutation(false),
	)
	if err != nil {
		return fmt.Errorf("creating kind cluster %s: %s (kind export logs --name %s shows why)", o.name, firstLine(err.Error()), o.name)
	}
	client, err := clientFor(o.kubeconfig)
	if err != nil {
		return err
	}
	ready, err := readyNodes(ctx, client, nodes, createWait)
	if err != nil {
		return err
	}
	node := ready[0]
	if err := confinePods(provider, o.name); err != nil {
		return err
	}
	if err := grantNodeAgents(ctx, client); err != nil {
		return err
	}
	if handlers, _, err = placeRunsc(ctx, provider, client, o, handlers); err != nil {
		return err
	}
	if err := ensureRuntimeClasses(ctx, o.kubeconfig, handlers); err != nil {
		return err
	}
	if err := load(o, append(o.load, o.dnsImage)); err != nil {
		return err
	}
	dns, err := readKubeletDNS(node.Name)
	if err != nil {
		return err
	}
	if err := deployDNS(ctx, client, o.dnsImage, dns); err != nil {
		return err
	}
	// Once per cluster: sandboxed handlers really run their sandbox, and the
	// network does what it must (Services, DNS, confinement, NetworkPolicy).
	if err := verifyHandlers(ctx, client, o.load[0], handlers); err != nil {
		return err
	}
	if err := verifyNetwork(ctx, client, o.load[0], nodeNames(ready), dns); err != nil {
		return err
	}
	// Last: a cluster whose setup failed half-way carries no stamp and is
	// recreated by the next run.
	if err := writeStamp(ctx, client, stamp(o.image, config)); err != nil {
		return err
	}
	logf("cluster %s: nodes %s Ready, kubelet %s, RuntimeClasses %s (created in %s)", o.name, strings.Join(nodeNames(ready), ", "),
		node.Status.NodeInfo.KubeletVersion, strings.Join(handlers, ", "), time.Since(start).Round(time.Second))
	printUse(o)
	return nil
}

// checkExisting says why an existing cluster cannot be kept, or "" when it can.
func checkExisting(ctx context.Context, provider *cluster.Provider, o options, want int, config []byte) string {
	members, err := provider.ListNodes(o.name)
	if err != nil || len(members) == 0 {
		return "it has no nodes"
	}
	if len(members) != want {
		return fmt.Sprintf("it has %s, not %s", shape(len(members)), shape(want))
	}
	// The node agents were verified when the cluster was made; they must
	// still be running. Nodes are asked side by side.
	err = eachNode(members, func(n nodes.Node) error {
		img, err := docker(10*time.Second, "inspect", "--format", "{{.Config.Image}} {{.State.Running}}", n.String())
		if err != nil {
			return fmt.Errorf("node %s cannot be inspected", n)
		}
		fields := strings.Fields(img)
		if len(fields) != 2 || fields[0] != o.image {
			return fmt.Errorf("node %s runs image %s, not %s", n, fields[0], o.image)
		}
		if fields[1] != "true" {
			return fmt.Errorf("node %s is not running", n)
		}
		units := []string{"podsem-pod-network", "kube-router", "kube-proxy"}
		out, _ := docker(10*time.Second, append([]string{"exec", n.String(), "systemctl", "is-active"}, units...)...)
		states := strings.Fields(out)
		for i, unit := range units {
			if i >= len(states) || states[i] != "active" {
				return fmt.Errorf("%s is not active on node %s (%s)", unit, n, strings.Join(states, " "))
			}
		}
		return nil
	})
	if err != nil {
		return firstLine(err.Error())
	}
	if err := provider.ExportKubeConfig(o.name, o.kubeconfig, false); err != nil {
		return "its kubeconfig cannot be exported"
	}
	client, err := clientFor(o.kubeconfig)
	if err != nil {
		return err.Error()
	}
	if _, err := readyNodes(ctx, client, want, healthWait); err != nil {
		return err.Error()
	}
	if err := controllersAct(ctx, client); err != nil {
		return err.Error()
	}
	if d, err := client.AppsV1().Deployments(metav1.NamespaceSystem).Get(ctx, dnsName, metav1.GetOptions{}); err != nil {
		return "it runs no CoreDNS"
	} else if img := d.Spec.Template.Spec.Containers[0].Image; img != o.dnsImage {
		return fmt.Sprintf("its CoreDNS runs %s, not %s", img, o.dnsImage)
	}
	stamped := stamp(o.image, config)
	cm, err := client.CoreV1().ConfigMaps(metav1.NamespaceSystem).Get(ctx, stampName, metav1.GetOptions{})
	if err != nil {
		return "it carries no podsem stamp"
	}
	for k, v := range stamped {
		if cm.Data[k] != v {
			return fmt.Sprintf("it was made with %s %s, not %s", k, cm.Data[k], v)
		}
	}
	return ""
}

func clientFor(kubeconfig string) (*kubernetes.Clientset, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("reading kubeconfig %s: %w", kubeconfig, err)
	}
	cfg.Timeout = 5 * time.Second
	// The checks create a dozen pods at once on a cluster of several nodes:
	// client-go's default of 5 requests a second would throttle them.
	cfg.QPS, cfg.Burst = 50, 100
	return kubernetes.NewForConfig(cfg)
}

// readyNodes waits up to timeout for the API server to answer and n nodes to
// be Ready, and returns them, the control plane first.
func readyNodes(ctx context.Context, client *kubernetes.Clientset, n int, timeout time.Duration) ([]corev1.Node, error) {
	deadline := time.Now().Add(timeout)
	last := "no answer"
	for {
		nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			last = "API server: " + firstLine(err.Error())
		} else {
			var ready, waiting []string
			var found []corev1.Node
			for _, node := range nodes.Items {
				if nodeReady(&node) {
					ready = append(ready, node.Name)
					found = append(found, node)
				} else {
					waiting = append(waiting, node.Name)
				}
			}
			if len(ready) >= n {
				slices.SortFunc(found, func(a, b corev1.Node) int {
					return strings.Compare(a.Name, b.Name)
				})
				return found, nil
			}
			last = fmt.Sprintf("%d of %d nodes Ready", len(ready), n)
			if len(waiting) > 0 {
				last += "; not Ready: " + strings.Join(waiting, ", ")
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("not healthy within %s (%s)", timeout, last)
		}
		time.Sleep(time.Second)
	}
}

func nodeReady(node *corev1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// eachNode runs do for every node side by side and joins their errors.
func eachNode(members []nodes.Node, do func(nodes.Node) error) error {
	errs := make([]error, len(members))
	var wg sync.WaitGroup
	for i, n := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = do(n)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func nodeNames(nodes []corev1.Node) []string {
	names := make([]string, 0, len(nodes))
	for _, n := range nodes {
		names = append(names, n.Name)
	}
	return names
}

// shape says how many nodes a cluster has, in words.
func shape(nodes int) string {
	if nodes == 1 {
		return "1 node"
	}
	return fmt.Sprintf("%d nodes: a control plane and %d workers", nodes, nodes-1)
}

func writeStamp(ctx context.Context, client *kubernetes.Clientset, data map[string]string) error {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: stampName, Namespace: metav1.NamespaceSystem}, Data: data}
	_, err := client.CoreV1().ConfigMaps(metav1.NamespaceSystem).Create(ctx, cm, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = client.CoreV1().ConfigMaps(metav1.NamespaceSystem).Update(ctx, cm, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("recording the cluster stamp: %w", err)
	}
	return nil
}

// runtimeHandlers lists the node's runtime handlers: runc (the main containerd
// config) and one per drop-in NAME.toml.
func runtimeHandlers(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.toml"))
	if err != nil {
		return nil, err
	}
	handlers := []string{"runc"}
	for _, f := range files {
		handlers = append(handlers, strings.TrimSuffix(filepath.Base(f), ".toml"))
	}
	return handlers, nil
}

// ensureRuntimeClasses creates a RuntimeClass named after each handler.
func ensureRuntimeClasses(ctx context.Context, kubeconfig string, handlers []string) error {
	client, err := clientFor(kubeconfig)
	if err != nil {
		return err
	}
	for _, h := range handlers {
		rc := &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: h, Labels: map[string]string{"app.kubernetes.io/managed-by": "podsem"}}, Handler: h}
		_, err := client.NodeV1().RuntimeClasses().Create(ctx, rc, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating RuntimeClass %s: %w", h, err)
		}
	}
	return nil
}

func printUse(o options) {
	abs, err := filepath.Abs(o.kubeconfig)
	if err != nil {
		abs = o.kubeconfig
	}
	fmt.Printf("export KUBECONFIG=%s\n", abs)
}
