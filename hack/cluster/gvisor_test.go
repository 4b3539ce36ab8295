package main

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestStatusFeatures(t *testing.T) {
	yes, no := true, false
	for _, c := range []struct {
		name     string
		handlers []corev1.NodeRuntimeHandler
		want     handlerFeatures
	}{
		{"no handlers", nil, handlerFeatures{}},
		{"gvisor without features", []corev1.NodeRuntimeHandler{{Name: "gvisor"}}, handlerFeatures{}},
		{"only another handler's", []corev1.NodeRuntimeHandler{{Name: "runc", Features: &corev1.NodeRuntimeHandlerFeatures{UserNamespaces: &yes}}}, handlerFeatures{}},
		{"gvisor's", []corev1.NodeRuntimeHandler{
			{Name: "runc", Features: &corev1.NodeRuntimeHandlerFeatures{RecursiveReadOnlyMounts: &yes, UserNamespaces: &yes}},
			{Name: "gvisor", Features: &corev1.NodeRuntimeHandlerFeatures{RecursiveReadOnlyMounts: &no, UserNamespaces: &yes}},
		}, handlerFeatures{recursiveReadOnly: false, userNamespaces: true}},
		{"gvisor's, one unset", []corev1.NodeRuntimeHandler{{Name: "gvisor", Features: &corev1.NodeRuntimeHandlerFeatures{RecursiveReadOnlyMounts: &yes}}},
			handlerFeatures{recursiveReadOnly: true}},
	} {
		node := &corev1.Node{Status: corev1.NodeStatus{RuntimeHandlers: c.handlers}}
		if got := statusFeatures(node); got != c.want {
			t.Errorf("%s: statusFeatures = %+v, want %+v", c.name, got, c.want)
		}
	}
}
