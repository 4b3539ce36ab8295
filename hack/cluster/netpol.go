package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

const (
	// enforcerRole is what kube-router's firewall reads, granted to the nodes'
	// group: each node's kube-router authenticates as its kubelet.
	enforcerRole = "podsem:kube-router"
	// canaryNamespace holds the check that NetworkPolicy is enforced.
	canaryNamespace = "podsem-netpol-canary"
	canaryPort      = 8080
	// canaryTimeout bounds the whole check: a server, a Service, one-shot
	// client pods and kube-router's answer to a new policy (it syncs on the
	// policy's event).
	canaryTimeout = 90 * time.Second
)

// grantNodeAgents lets the nodes' kube-router read pods, namespaces, nodes,
// services, endpoints and NetworkPolicies, and their kube-proxy do what
// Kubernetes' own node-proxier role allows.
func grantNodeAgents(ctx context.Context, client kubernetes.Interface) error {
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: enforcerRole, Labels: map[string]string{"app.kubernetes.io/managed-by": "podsem"}},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods", "namespaces", "nodes", "services", "endpoints"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies"}, Verbs: []string{"get", "list", "watch"}},
		},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: enforcerRole, Labels: role.Labels},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: enforcerRole},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "system:nodes"}},
	}
	if _, err := client.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("granting kube-router its reads: %w", err)
	}
	if _, err := client.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("granting kube-router its reads: %w", err)
	}
	proxier := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "podsem:kube-proxy", Labels: role.Labels},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:node-proxier"},
		Subjects:   binding.Subjects,
	}
	if _, err := client.RbacV1().ClusterRoleBindings().Create(ctx, proxier, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("granting kube-proxy the node-proxier role: %w", err)
	}
	return nil
}

// verifyNetwork proves, in one namespace with one server pod, what the
// cluster's network must do before the cluster counts as up: pods reach pods
// and ClusterIP Services (kube-proxy), the kubernetes Service among them;
// nothing a pod sends leaves the machine; NetworkPolicy is enforced. Pod
// reach and confinement are checked from every node in nodes.
func verifyNetwork(ctx context.Context, client kubernetes.Interface, image string, nodes []string, dns kubeletDNS) error {
	ctx, cancel := context.WithTimeout(ctx, canaryTimeout)
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: canaryNamespace}}
	if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("network check: creating namespace %s: %w", canaryNamespace, err)
	}
	defer func() {
		_ = client.CoreV1().Namespaces().Delete(context.WithoutCancel(ctx), canaryNamespace, metav1.DeleteOptions{})
	}()

	grace := int64(0)
	labels := map[string]string{"podsem-canary": "server"}
	server := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "server", Labels: labels},
		Spec: corev1.PodSpec{
			// Its FQDN, server.canary.<namespace>.svc.<domain>, through the
			// headless Service canary.
			Hostname:                      "server",
			Subdomain:                     "canary",
			TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{{Name: "serve", Image: image, ImagePullPolicy: corev1.PullNever,
				Args: []string{"serve", "tcp", fmt.Sprint(canaryPort)}}},
		},
	}
	if _, err := createPod(ctx, client, canaryNamespace, server); err != nil {
		return fmt.Errorf("network check: %w", err)
	}
	svc, err := createService(ctx, client, "server", labels, false)
	if err != nil {
		return err
	}
	if _, err := createService(ctx, client, "canary", labels, true); err != nil {
		return err
	}
	ip, err := podIP(ctx, client, canaryNamespace, server.Name)
	if err != nil {
		return fmt.Errorf("network check: %w", err)
	}
	api, err := client.CoreV1().Services(metav1.NamespaceDefault).Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil || len(api.Spec.Ports) == 0 {
		return fmt.Errorf("network check: reading the kubernetes Service: %v", err)
	}
	addr := fmt.Sprintf("%s:%d", ip, canaryPort)
	apiAddr := net.JoinHostPort(api.Spec.ClusterIP, strconv.Itoa(int(api.Spec.Ports[0].Port)))
	if err := verifyReach(ctx, client, image, nodes, addr, svc, apiAddr); err != nil {
		return err
	}
	if err := verifyDNS(ctx, client, image, ip, api.Spec.ClusterIP, dns.ClusterDomain); err != nil {
		return err
	}
	return verifyNetworkPolicy(ctx, client, image, addr, labels)
}

// verifyNetworkPolicy proves the cluster enforces NetworkPolicy: a deny-all
// ingress policy on the server blocks the dial verifyReach saw succeed.
func verifyNetworkPolicy(ctx context.Context, client kubernetes.Interface, image, addr string, labels map[string]string) error {
	start := time.Now()
	deny := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "deny-ingress"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: labels},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		},
	}
	if _, err := client.NetworkingV1().NetworkPolicies(canaryNamespace).Create(ctx, deny, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("NetworkPolicy check: creating the deny-all policy: %w", err)
	}
	last := ""
	for ctx.Err() == nil {
		d, err := dialOnce(ctx, client, canaryNamespace, image, "", addr)
		if err != nil {
			last = err.Error()
			break
		}
		if got := d.Result; got == "timeout" || got == "refused" {
			logf("NetworkPolicy enforced: a deny-all ingress policy blocks a dial that reached the pod without it (%s: %s; checked in %s)",
				addr, got, time.Since(start).Round(time.Millisecond))
			return nil
		}
		last = "the dial still got " + d.Result
	}
	return fmt.Errorf("NetworkPolicy is not enforced: with a deny-all ingress policy on it, pod %s is still reached (%s) after %s: kube-router is not running or not programming the node (docker exec <node> journalctl -u kube-router)",
		addr, last, canaryTimeout)
}

// dial is what `podprobe dial` printed.
type dial struct {
	Result string `json:"result"`
	Echo   string `json:"echo"`
	Server struct {
		Hostname string `json:"hostname"`
	} `json:"server"`
	Error string `json:"error"`
	Errno string `json:"errno"`
}

// dialOnce runs `podprobe dial` to addr in a one-shot pod in namespace ns, on
// node (or where the scheduler puts it, when node is "").
func dialOnce(ctx context.Context, client kubernetes.Interface, ns, image, node, addr string, flags ...string) (dial, error) {
	pod := oneShot("podsem-dial-", image, append([]string{"dial", "tcp", addr, "--timeout", "2s"}, flags...)...)
	pod.Spec.NodeName = node
	raw, err := runOnce(ctx, client, ns, pod)
	if err != nil {
		return dial{}, err
	}
	var d dial
	if err := json.Unmarshal(raw, &d); err != nil || d.Result == "" {
		return dial{}, fmt.Errorf("the client pod printed %q, not podprobe's dial", raw)
	}
	return d, nil
}

// oneShot is a pod that runs podprobe once with args.
func oneShot(generateName, image string, args ...string) *corev1.Pod {
	grace := int64(0)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: generateName},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: &grace,
			Containers:                    []corev1.Container{{Name: "probe", Image: image, ImagePullPolicy: corev1.PullNever, Args: args}},
		},
	}
}
