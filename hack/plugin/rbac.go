package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	serjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// RBAC is what the RBAC file holds: the runner's namespace, its ServiceAccount,
// and the ClusterRole bound to it.
type RBAC struct {
	Namespace      *corev1.Namespace
	ServiceAccount *corev1.ServiceAccount
	Role           *rbacv1.ClusterRole
	Binding        *rbacv1.ClusterRoleBinding
}

// forbiddenVerbs would let the holder grant itself or act as more than it is.
var forbiddenVerbs = []string{"escalate", "bind", "impersonate"}

// forbiddenResources expose credentials or reach past the API server's checks.
var forbiddenResources = []string{"secrets", "nodes/proxy", "pods/proxy", "services/proxy", "serviceaccounts/token", "certificatesigningrequests/approval"}

// decodeObjects decodes every document of a multi-document YAML file with
// client-go's scheme, strictly (unknown or duplicate fields are errors).
func decodeObjects(data []byte) ([]runtime.Object, error) {
	decoder := serjson.NewSerializerWithOptions(serjson.DefaultMetaFactory, scheme.Scheme, scheme.Scheme,
		serjson.SerializerOptions{Yaml: true, Strict: true})
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []runtime.Object
	for n := 1; ; n++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %v", n, err)
		}
		if j, err := yaml.YAMLToJSON(doc); err == nil && (string(j) == "null" || string(j) == "{}") {
			continue // only comments or blank
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			return nil, fmt.Errorf("document %d: %v", n, firstLine(err.Error()))
		}
		if tm.APIVersion == "" || tm.Kind == "" {
			return nil, fmt.Errorf("document %d is not a Kubernetes object: it has no apiVersion or kind", n)
		}
		obj, gvk, err := decoder.Decode(doc, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("document %d (%s): %v", n, tm.Kind, firstLine(err.Error()))
		}
		obj.GetObjectKind().SetGroupVersionKind(*gvk)
		objs = append(objs, obj)
	}
}

// sortRBAC takes exactly one Namespace, ServiceAccount, ClusterRole and
// ClusterRoleBinding, and nothing else.
func sortRBAC(objs []runtime.Object) (*RBAC, error) {
	var r RBAC
	dup := func(kind string) error { return fmt.Errorf("more than one %s", kind) }
	for _, o := range objs {
		switch o := o.(type) {
		case *corev1.Namespace:
			if r.Namespace != nil {
				return nil, dup("Namespace")
			}
			r.Namespace = o
		case *corev1.ServiceAccount:
			if r.ServiceAccount != nil {
				return nil, dup("ServiceAccount")
			}
			r.ServiceAccount = o
		case *rbacv1.ClusterRole:
			if r.Role != nil {
				return nil, dup("ClusterRole")
			}
			r.Role = o
		case *rbacv1.ClusterRoleBinding:
			if r.Binding != nil {
				return nil, dup("ClusterRoleBinding")
			}
			r.Binding = o
		default:
			return nil, fmt.Errorf("unexpected %s: only a Namespace, a ServiceAccount, a ClusterRole and a ClusterRoleBinding belong here", o.GetObjectKind().GroupVersionKind().Kind)
		}
	}
	var missing []string
	if r.Namespace == nil {
		missing = append(missing, "Namespace")
	}
	if r.ServiceAccount == nil {
		missing = append(missing, "ServiceAccount")
	}
	if r.Role == nil {
		missing = append(missing, "ClusterRole")
	}
	if r.Binding == nil {
		missing = append(missing, "ClusterRoleBinding")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("no %s", strings.Join(missing, ", no "))
	}
	return &r, nil
}

// checkRBAC lists what is wrong with the objects: the ServiceAccount outside
// the Namespace, a binding that binds anything but that ServiceAccount to that
// ClusterRole, and rules broader than the suite may have.
func checkRBAC(r *RBAC) []string {
	var problems []string
	sa := r.ServiceAccount
	if sa.Namespace != r.Namespace.Name {
		problems = append(problems, fmt.Sprintf("ServiceAccount %s is in namespace %q, not %s", sa.Name, sa.Namespace, r.Namespace.Name))
	}
	b := r.Binding
	if b.RoleRef.APIGroup != rbacv1.GroupName || b.RoleRef.Kind != "ClusterRole" || b.RoleRef.Name != r.Role.Name {
		problems = append(problems, fmt.Sprintf("ClusterRoleBinding %s refers to %s %q (group %q), not ClusterRole %s", b.Name, b.RoleRef.Kind, b.RoleRef.Name, b.RoleRef.APIGroup, r.Role.Name))
	}
	want := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: sa.Name, Namespace: sa.Namespace}
	if len(b.Subjects) != 1 || b.Subjects[0] != want {
		problems = append(problems, fmt.Sprintf("ClusterRoleBinding %s binds %v, not just ServiceAccount %s/%s", b.Name, b.Subjects, sa.Namespace, sa.Name))
	}
	if r.Role.AggregationRule != nil {
		problems = append(problems, fmt.Sprintf("ClusterRole %s aggregates other roles", r.Role.Name))
	}
	if len(r.Role.Rules) == 0 {
		problems = append(problems, fmt.Sprintf("ClusterRole %s has no rules", r.Role.Name))
	}
	for i, rule := range r.Role.Rules {
		where := fmt.Sprintf("ClusterRole %s rule %d (%s)", r.Role.Name, i+1, strings.Join(rule.Resources, ","))
		for _, list := range [][]string{rule.APIGroups, rule.Resources, rule.Verbs, rule.ResourceNames, rule.NonResourceURLs} {
			for _, v := range list {
				if strings.Contains(v, "*") {
					problems = append(problems, fmt.Sprintf("%s uses the wildcard %q", where, v))
				}
			}
		}
		if len(rule.NonResourceURLs) > 0 {
			problems = append(problems, fmt.Sprintf("%s grants non-resource URLs %v", where, rule.NonResourceURLs))
		}
		for _, res := range rule.Resources {
			if slices.Contains(forbiddenResources, res) || strings.HasPrefix(res, "secrets/") {
				problems = append(problems, fmt.Sprintf("%s touches %s", where, res))
			}
		}
		for _, v := range rule.Verbs {
			if slices.Contains(forbiddenVerbs, v) {
				problems = append(problems, fmt.Sprintf("%s grants %s", where, v))
			}
		}
	}
	return problems
}

// loadRBAC reads, decodes and checks the RBAC file.
func loadRBAC(path string) (*RBAC, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError{fmt.Errorf("rbac: %v", err)}
	}
	objs, err := decodeObjects(data)
	if err != nil {
		return nil, usageError{fmt.Errorf("rbac %s: %v", path, err)}
	}
	r, err := sortRBAC(objs)
	if err != nil {
		return nil, usageError{fmt.Errorf("rbac %s: %v", path, err)}
	}
	if problems := checkRBAC(r); len(problems) > 0 {
		return nil, usageError{fmt.Errorf("rbac %s: %s", path, strings.Join(problems, "; "))}
	}
	return r, nil
}

// fieldManager owns the fields plugin render --apply applies.
const fieldManager = "podsem-plugin"

// applyRBAC creates or updates each object with a server-side apply, so the
// cluster ends up with exactly the file's rules: a rule taken out of the file
// is taken out of the ClusterRole.
func applyRBAC(ctx context.Context, client kubernetes.Interface, r *RBAC) error {
	if err := awaitNamespaceGone(ctx, client, r.Namespace.Name); err != nil {
		return err
	}
	force := true
	opts := metav1.PatchOptions{FieldManager: fieldManager, Force: &force}
	apply := func(obj runtime.Object, name string, patch func(data []byte) error) error {
		data, err := json.Marshal(obj)
		if err == nil {
			err = patch(data)
		}
		if err != nil {
			return fmt.Errorf("applying %s %s: %v", obj.GetObjectKind().GroupVersionKind().Kind, name, err)
		}
		return nil
	}
	core, rbac := client.CoreV1(), client.RbacV1()
	if err := apply(r.Namespace, r.Namespace.Name, func(data []byte) error {
		_, err := core.Namespaces().Patch(ctx, r.Namespace.Name, types.ApplyPatchType, data, opts)
		return err
	}); err != nil {
		return err
	}
	if err := apply(r.ServiceAccount, r.ServiceAccount.Name, func(data []byte) error {
		_, err := core.ServiceAccounts(r.ServiceAccount.Namespace).Patch(ctx, r.ServiceAccount.Name, types.ApplyPatchType, data, opts)
		return err
	}); err != nil {
		return err
	}
	if err := apply(r.Role, r.Role.Name, func(data []byte) error {
		_, err := rbac.ClusterRoles().Patch(ctx, r.Role.Name, types.ApplyPatchType, data, opts)
		return err
	}); err != nil {
		return err
	}
	// A binding's roleRef cannot change: one that refers to another role is replaced.
	bindings := rbac.ClusterRoleBindings()
	if have, err := bindings.Get(ctx, r.Binding.Name, metav1.GetOptions{}); err == nil && have.RoleRef != r.Binding.RoleRef {
		if err := bindings.Delete(ctx, r.Binding.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("replacing ClusterRoleBinding %s: %v", r.Binding.Name, err)
		}
	}
	if err := apply(r.Binding, r.Binding.Name, func(data []byte) error {
		_, err := bindings.Patch(ctx, r.Binding.Name, types.ApplyPatchType, data, opts)
		return err
	}); err != nil {
		return err
	}
	logf("applied Namespace %s, ServiceAccount %s/%s, ClusterRole %s (%d rules), ClusterRoleBinding %s",
		r.Namespace.Name, r.ServiceAccount.Namespace, r.ServiceAccount.Name, r.Role.Name, len(r.Role.Rules), r.Binding.Name)
	return nil
}

// namespaceGoneWait bounds the wait for a namespace being deleted (say, by
// `sonobuoy delete`), before it can be created again.
const namespaceGoneWait = 2 * time.Minute

func awaitNamespaceGone(ctx context.Context, client kubernetes.Interface, name string) error {
	deadline := time.Now().Add(namespaceGoneWait)
	for {
		ns, err := client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case err != nil:
			return fmt.Errorf("reading namespace %s: %v", name, err)
		case ns.DeletionTimestamp == nil:
			return nil
		case time.Now().After(deadline):
			return fmt.Errorf("namespace %s is still being deleted after %s", name, namespaceGoneWait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
