package main

import (
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

const shippedRBAC = "../../docs/sonobuoy/rbac.yaml"

func TestShippedRBAC(t *testing.T) {
	objs, err := decodeObjects([]byte(readFile(t, shippedRBAC)))
	if err != nil {
		t.Fatalf("strict decode: %v", err)
	}
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.GetObjectKind().GroupVersionKind().Kind)
	}
	if got := strings.Join(kinds, " "); got != "Namespace ServiceAccount ClusterRole ClusterRoleBinding" {
		t.Fatalf("objects %s, want Namespace ServiceAccount ClusterRole ClusterRoleBinding", got)
	}
	r, err := sortRBAC(objs)
	if err != nil {
		t.Fatal(err)
	}
	if problems := checkRBAC(r); len(problems) > 0 {
		t.Fatalf("%s:\n  %s", shippedRBAC, strings.Join(problems, "\n  "))
	}
	if r.Namespace.Name != "podsem-runner" || r.ServiceAccount.Namespace != "podsem-runner" || r.ServiceAccount.Name != "podsem" || r.Role.Name != "podsem-runner" {
		t.Errorf("names: Namespace %s, ServiceAccount %s/%s, ClusterRole %s; the kit's README says podsem-runner, podsem-runner/podsem, podsem-runner",
			r.Namespace.Name, r.ServiceAccount.Namespace, r.ServiceAccount.Name, r.Role.Name)
	}
	want := rbacv1.Subject{Kind: "ServiceAccount", Name: r.ServiceAccount.Name, Namespace: r.ServiceAccount.Namespace}
	if len(r.Binding.Subjects) != 1 || r.Binding.Subjects[0] != want || r.Binding.RoleRef.Kind != "ClusterRole" || r.Binding.RoleRef.Name != r.Role.Name {
		t.Errorf("the binding binds %v to %+v, want the ServiceAccount to ClusterRole %s", r.Binding.Subjects, r.Binding.RoleRef, r.Role.Name)
	}
}

// TestRBACChecksCatchBreakage breaks the shipped RBAC one way at a time: every
// check must notice its own breakage.
func TestRBACChecksCatchBreakage(t *testing.T) {
	shipped := readFile(t, shippedRBAC)
	binding := strings.Index(shipped, "kind: ClusterRoleBinding")
	cases := []struct {
		name      string
		edit      func(string) string
		want      string
		mustMatch string // the edit must find this in the shipped file
	}{
		{"wildcard verb", replace("  verbs: [create, get, delete, deletecollection]", `  verbs: [create, get, delete, deletecollection, "*"]`), `uses the wildcard "*"`, "  verbs: [create, get, delete, deletecollection]"},
		{"wildcard resource", replace("  resources: [events]", `  resources: ["*"]`), `uses the wildcard "*"`, "  resources: [events]"},
		{"wildcard group", replace("- apiGroups: [node.k8s.io]", `- apiGroups: ["*"]`), `uses the wildcard "*"`, "- apiGroups: [node.k8s.io]"},
		{"secrets", replace("  resources: [events]", "  resources: [events, secrets]"), "touches secrets", "  resources: [events]"},
		{"nodes/proxy", replace("  resources: [nodes]", "  resources: [nodes, nodes/proxy]"), "touches nodes/proxy", "  resources: [nodes]"},
		{"escalate", replace("  verbs: [patch]", "  verbs: [patch, escalate]"), "grants escalate", "  verbs: [patch]"},
		{"bind", replace("  verbs: [patch]", "  verbs: [patch, bind]"), "grants bind", "  verbs: [patch]"},
		{"impersonate", replace("  verbs: [patch]", "  verbs: [patch, impersonate]"), "grants impersonate", "  verbs: [patch]"},
		{"non-resource URL", replace("  verbs: [list]\n", "  verbs: [list]\n- nonResourceURLs: [/metrics]\n  verbs: [get]\n"), "non-resource URLs", "  verbs: [list]\n"},
		{"unknown field", replace("  resourceNames: [default]", "  resourceName: [default]"), `unknown field "rules[7].resourceName"`, "  resourceNames: [default]"},
		{"binding to another role", func(s string) string {
			return s[:binding] + strings.Replace(s[binding:], "  name: podsem-runner\nsubjects:", "  name: cluster-admin\nsubjects:", 1)
		}, `refers to ClusterRole "cluster-admin"`, "  name: podsem-runner\nsubjects:"},
		{"binding another subject", func(s string) string {
			return s[:binding] + strings.Replace(s[binding:], "  name: podsem\n", "  name: default\n", 1)
		}, "not just ServiceAccount podsem-runner/podsem", "  name: podsem\n"},
		{"ServiceAccount elsewhere", replace("  name: podsem\n  namespace: podsem-runner", "  name: podsem\n  namespace: default"), `is in namespace "default"`, "  name: podsem\n  namespace: podsem-runner"},
		{"an extra object", func(s string) string { return s + "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: x\n" }, "unexpected Secret", ""},
		{"a second role", func(s string) string {
			return s + "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: more\n"
		}, "more than one ClusterRole", ""},
		{"no Namespace", replace("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: podsem-runner\n---\n", ""), "no Namespace", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: podsem-runner\n---\n"},
		{"not an object", func(s string) string { return s + "---\nfoo: bar\n" }, "not a Kubernetes object", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(shipped, tc.mustMatch) {
				t.Fatalf("the shipped RBAC no longer contains %q: update the test", tc.mustMatch)
			}
			broken := tc.edit(shipped)
			if broken == shipped {
				t.Fatal("the edit changed nothing")
			}
			var got string
			objs, err := decodeObjects([]byte(broken))
			if err == nil {
				var r *RBAC
				if r, err = sortRBAC(objs); err == nil {
					got = strings.Join(checkRBAC(r), "; ")
				}
			}
			if err != nil {
				got = err.Error()
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("broken RBAC: got %q, want it to say %q", got, tc.want)
			}
		})
	}
}

func replace(old, new string) func(string) string {
	return func(s string) string { return strings.Replace(s, old, new, 1) }
}
