package spec

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestDeletePodsAskOneCollectionDeleteAtGraceZero(t *testing.T) {
	c := fake.NewClientset(
		&v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pair", Namespace: "podsem-a"}},
		&v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "podsem-b"}},
	)
	if err := deletePods(context.Background(), c, "podsem-a"); err != nil {
		t.Fatal(err)
	}
	var deletes []k8stesting.DeleteCollectionActionImpl
	for _, a := range c.Actions() {
		if d, ok := a.(k8stesting.DeleteCollectionActionImpl); ok {
			deletes = append(deletes, d)
		}
	}
	if len(deletes) != 1 {
		t.Fatalf("%d collection deletes, want 1: %v", len(deletes), c.Actions())
	}
	d := deletes[0]
	if d.GetNamespace() != "podsem-a" || d.GetResource().Resource != "pods" {
		t.Errorf("deleted %s in %q, want pods in podsem-a", d.GetResource().Resource, d.GetNamespace())
	}
	if g := d.DeleteOptions.GracePeriodSeconds; g == nil || *g != 0 {
		t.Errorf("grace period %v, want 0", g)
	}
	if !d.ListRestrictions.Labels.Empty() || !d.ListRestrictions.Fields.Empty() {
		t.Errorf("selectors %v, want every pod of the namespace", d.ListRestrictions)
	}
}
