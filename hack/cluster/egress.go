package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/yaml"
)

// outsideAddrs are dials that must never leave the machine: addresses of
// no network of the cluster's (TEST-NET-1 and TEST-NET-2).
var outsideAddrs = []string{"192.0.2.1:80", "198.51.100.1:443"}

// plainHTTPAnswer is the API server's TLS listener's answer to plain HTTP.
const plainHTTPAnswer = "HTTP/1.0 400 Bad Request"

// podSubnet is the cluster's pod subnet, as kind-config.yaml gives it.
func podSubnet() (string, error) {
	var c v1alpha4.Cluster
	if err := yaml.Unmarshal(kindConfig, &c); err != nil {
		return "", fmt.Errorf("reading kind-config.yaml: %w", err)
	}
	if c.Networking.PodSubnet == "" {
		return "", fmt.Errorf("kind-config.yaml names no networking.podSubnet")
	}
	return c.Networking.PodSubnet, nil
}

// confinePods keeps every node's pod traffic on this machine
// (podsem-confine-pods, in the node image): on every up, since a node that
// docker restarted has lost its rules.
func confinePods(provider *cluster.Provider, name string) error {
	subnet, err := podSubnet()
	if err != nil {
		return err
	}
	members, err := provider.ListNodes(name)
	if err != nil {
		return fmt.Errorf("listing the nodes of %s: %w", name, err)
	}
	return eachNode(members, func(n nodes.Node) error {
		if out, err := docker(10*time.Second, "exec", n.String(), "podsem-confine-pods", subnet); err != nil {
			return fmt.Errorf("confining pod traffic on node %s: %s", n, firstLine(strings.TrimSpace(out+" "+err.Error())))
		}
		return nil
	})
}

// verifyReach proves, with one-shot client pods side by side, that a pod on
// every node reaches another pod at addr (on one node: the others route to it),
// that a pod reaches it through Service svc (kube-proxy) and the API server
// through the kubernetes Service (api, its ClusterIP and port), and that dials
// from every node to outside addresses fail at once with an error from the
// node, neither answered nor left to time out: nothing leaves the machine.
// On a new cluster, kube-proxy programs a new Service, and podsem-pod-network
// routes to a new node, within a sync of their own: a dial that must reach is
// tried again until it does (within ctx's bound); a refusal is judged once.
func verifyReach(ctx context.Context, client kubernetes.Interface, image string, nodes []string, addr string, svc *corev1.Service, api string) error {
	start := time.Now()
	type check struct {
		node, addr, payload string
		judge               func(dial) error
		// settles: the dial must reach, and may be tried again until it does.
		settles bool
	}
	reached := func(d dial) error {
		if d.Result != "ok" || d.Server.Hostname != "server" {
			return fmt.Errorf("the canary server did not answer: %s %s", d.Result, d.Error)
		}
		return nil
	}
	checks := []check{
		{addr: fmt.Sprintf("%s:%d", svc.Spec.ClusterIP, canaryPort), judge: reached, settles: true},
		{addr: api, payload: "GET / HTTP/1.0", settles: true, judge: func(d dial) error {
			if !strings.HasPrefix(d.Echo, plainHTTPAnswer) {
				return fmt.Errorf("no answer from the API server (%s %s %q): kube-proxy is not running or not programming the node (docker exec <node> journalctl -u kube-proxy)", d.Result, d.Error, d.Echo)
			}
			return nil
		}},
	}
	refused := func(d dial) error {
		if d.Result == "ok" || d.Result == "timeout" || d.Result == "mismatch" {
			return fmt.Errorf("pod traffic can leave the machine: the dial ended %q (%s), not refused at once by the node (podsem-confine-pods)", d.Result, d.Error)
		}
		return nil
	}
	for _, node := range nodes {
		checks = append(checks, check{node: node, addr: addr, judge: reached, settles: true})
		for _, a := range outsideAddrs {
			checks = append(checks, check{node: node, addr: a, judge: refused})
		}
	}
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var flags []string
			if c.payload != "" {
				flags = []string{"--payload", c.payload}
			}
			var err error
			for {
				var d dial
				d, err = dialOnce(ctx, client, canaryNamespace, image, c.node, c.addr, flags...)
				if err == nil {
					err = c.judge(d)
				}
				if err == nil || !c.settles || !sleepCtx(ctx, time.Second) {
					break
				}
			}
			if err != nil {
				from := "a pod"
				if c.node != "" {
					from += " on node " + c.node
				}
				errs[i] = fmt.Errorf("network check, %s dialling %s: %w", from, c.addr, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	logf("network verified: pods on %s reach a pod, a ClusterIP Service and the kubernetes Service (%s); their dials to %s are refused at once by the node (checked in %s)",
		strings.Join(nodes, ", "), api, strings.Join(outsideAddrs, ", "), time.Since(start).Round(time.Millisecond))
	return nil
}

// createService puts a ClusterIP Service, or a headless one, in front of the
// canary server.
func createService(ctx context.Context, client kubernetes.Interface, name string, selector map[string]string, headless bool) (*corev1.Service, error) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports:    []corev1.ServicePort{{Port: canaryPort, TargetPort: intstr.FromInt32(canaryPort)}},
		},
	}
	if headless {
		svc.Spec.ClusterIP = corev1.ClusterIPNone
	}
	created, err := client.CoreV1().Services(canaryNamespace).Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("network check: creating Service %s/%s: %w", canaryNamespace, svc.Name, err)
	}
	return created, nil
}

// sleepCtx waits d, or until ctx ends (false).
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
