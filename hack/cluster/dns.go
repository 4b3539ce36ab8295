package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

const (
	dnsName = "coredns"
	// dnsReadyTimeout bounds CoreDNS becoming Ready (its image is on the nodes).
	dnsReadyTimeout = 60 * time.Second
)

// kubeletDNS is what the kubelet tells pods about DNS: the nameserver
// address and the cluster domain, from a node's kubelet configuration, so
// that the Service CoreDNS gets is the one pods are pointed at.
type kubeletDNS struct {
	ClusterDNS    []string `json:"clusterDNS"`
	ClusterDomain string   `json:"clusterDomain"`
}

func readKubeletDNS(node string) (kubeletDNS, error) {
	raw, err := docker(10*time.Second, "exec", node, "cat", "/var/lib/kubelet/config.yaml")
	if err != nil {
		return kubeletDNS{}, fmt.Errorf("reading node %s's kubelet configuration: %v", node, err)
	}
	var k kubeletDNS
	if err := yaml.Unmarshal([]byte(raw), &k); err != nil || len(k.ClusterDNS) == 0 || k.ClusterDomain == "" {
		return kubeletDNS{}, fmt.Errorf("node %s's kubelet configuration names no clusterDNS and clusterDomain (%v)", node, err)
	}
	return k, nil
}

// corefile serves the cluster domain and the reverse zones from the API
// server, and nothing else: no forward plugin, so no query leaves the cluster.
func corefile(domain string) string {
	return fmt.Sprintf(`.:53 {
    errors
    health :8080
    ready :8181
    kubernetes %s in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
    cache 5
    loadbalance
}
`, domain)
}

// deployDNS runs CoreDNS (image, built locally) in kube-system behind the
// Service at the kubelet's clusterDNS address; it does not wait.
func deployDNS(ctx context.Context, client kubernetes.Interface, image string, dns kubeletDNS) error {
	ns := metav1.NamespaceSystem
	labels := map[string]string{"k8s-app": "kube-dns", "app.kubernetes.io/managed-by": "podsem"}
	meta := metav1.ObjectMeta{Name: dnsName, Namespace: ns, Labels: labels}
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "podsem:coredns", Labels: labels},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"endpoints", "services", "pods", "namespaces"}, Verbs: []string{"list", "watch"}},
			{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"list", "watch"}},
		},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "podsem:coredns", Labels: labels},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: dnsName, Namespace: ns}},
	}
	config := &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{"Corefile": corefile(dns.ClusterDomain)}}
	one, grace := int32(1), int64(5)
	deployment := &appsv1.Deployment{
		ObjectMeta: meta,
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					ServiceAccountName:            dnsName,
					PriorityClassName:             "system-cluster-critical",
					TerminationGracePeriodSeconds: &grace,
					// CoreDNS is the cluster's nameserver; it must not ask itself.
					DNSPolicy: corev1.DNSDefault,
					Containers: []corev1.Container{{
						Name: dnsName, Image: image, ImagePullPolicy: corev1.PullNever,
						Args: []string{"-conf", "/etc/coredns/Corefile"},
						Ports: []corev1.ContainerPort{
							{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP},
							{Name: "dns-tcp", ContainerPort: 53, Protocol: corev1.ProtocolTCP},
						},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(8181)}},
							PeriodSeconds: 1,
						},
						VolumeMounts: []corev1.VolumeMount{{Name: "config", MountPath: "/etc/coredns", ReadOnly: true}},
					}},
					Volumes: []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{
						ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: dnsName}},
					}}},
				},
			},
		},
	}
	service := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-dns", Namespace: ns, Labels: labels},
		Spec: corev1.ServiceSpec{
			ClusterIP: dns.ClusterDNS[0],
			Selector:  map[string]string{"k8s-app": "kube-dns"},
			Ports: []corev1.ServicePort{
				{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(53)},
				{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(53)},
			},
		},
	}
	sa := &corev1.ServiceAccount{ObjectMeta: meta}
	// In order: the Deployment's pods need the ServiceAccount and ConfigMap.
	for _, step := range []struct {
		what   string
		create func() error
	}{
		{"ClusterRole", func() error {
			_, err := client.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{})
			return err
		}},
		{"ClusterRoleBinding", func() error {
			_, err := client.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{})
			return err
		}},
		{"ServiceAccount", func() error {
			_, err := client.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{})
			return err
		}},
		{"ConfigMap", func() error {
			_, err := client.CoreV1().ConfigMaps(ns).Create(ctx, config, metav1.CreateOptions{})
			return err
		}},
		{"Service", func() error {
			_, err := client.CoreV1().Services(ns).Create(ctx, service, metav1.CreateOptions{})
			return err
		}},
		{"Deployment", func() error {
			_, err := client.AppsV1().Deployments(ns).Create(ctx, deployment, metav1.CreateOptions{})
			return err
		}},
	} {
		if err := step.create(); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("deploying CoreDNS: creating its %s: %w", step.what, err)
		}
	}
	return nil
}

// dnsReady waits, up to dnsReadyTimeout, for CoreDNS to be Ready.
func dnsReady(ctx context.Context, client kubernetes.Interface) error {
	deadline := time.Now().Add(dnsReadyTimeout)
	last := "not found"
	for {
		d, err := client.AppsV1().Deployments(metav1.NamespaceSystem).Get(ctx, dnsName, metav1.GetOptions{})
		if err == nil && d.Status.ReadyReplicas > 0 {
			return nil
		}
		if err == nil {
			last = fmt.Sprintf("%d of %d replicas ready", d.Status.ReadyReplicas, *d.Spec.Replicas)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("CoreDNS is not Ready within %s (%s): kubectl -n kube-system describe deployment coredns", dnsReadyTimeout, last)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// resolved is what `podprobe resolve` printed.
type resolved struct {
	Addrs []string `json:"addrs"`
	Error string   `json:"error"`
}

// nameResolves says whether want is among the addresses of name, resolved in
// a one-shot pod; it retries until ctx ends, since endpoints reach CoreDNS
// through a watch.
func nameResolves(ctx context.Context, client kubernetes.Interface, image, name, want string) error {
	last := ""
	for ctx.Err() == nil {
		var r resolved
		raw, err := runOnce(ctx, client, canaryNamespace, oneShot("podsem-resolve-", image, "resolve", name))
		if err == nil {
			err = json.Unmarshal(raw, &r)
		}
		if err != nil {
			return fmt.Errorf("resolving %s in a pod: %w", name, err)
		}
		for _, a := range r.Addrs {
			if a == want {
				return nil
			}
		}
		last = fmt.Sprintf("%v %s", r.Addrs, r.Error)
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("a pod resolves %s to %s, not %s", name, strings.TrimSpace(last), want)
}

// verifyDNS proves the cluster's DNS serves pods: once CoreDNS is Ready, a
// pod resolves kubernetes.default (search domains) to the kubernetes
// Service's ClusterIP (apiIP), and the canary server's FQDN through its headless
// Service to its IP.
func verifyDNS(ctx context.Context, client kubernetes.Interface, image, serverIP, apiIP, domain string) error {
	start := time.Now()
	if err := dnsReady(ctx, client); err != nil {
		return err
	}
	fqdn := fmt.Sprintf("server.canary.%s.svc.%s", canaryNamespace, domain)
	errs := make(chan error, 2)
	go func() { errs <- nameResolves(ctx, client, image, "kubernetes.default", apiIP) }()
	go func() { errs <- nameResolves(ctx, client, image, fqdn, serverIP) }()
	for range 2 {
		if err := <-errs; err != nil {
			return fmt.Errorf("DNS check: %w (kubectl -n kube-system logs deployment/coredns)", err)
		}
	}
	logf("DNS verified: CoreDNS serves %s: kubernetes.default is %s, %s is %s (checked in %s)",
		domain, apiIP, fqdn, serverIP, time.Since(start).Round(time.Millisecond))
	return nil
}
