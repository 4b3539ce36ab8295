package pods

import (
	"context"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestNeighbourName(t *testing.T) {
	long := strings.Repeat("node.", 50) + "example"
	for _, node := range []string{"podsem-control-plane", "podsem-worker", long} {
		name := NeighbourName(node)
		if len(name) > 63 || name != NeighbourName(node) {
			t.Errorf("NeighbourName(%q) = %q: want a stable name of at most 63 characters", node, name)
		}
	}
	if NeighbourName("podsem-worker") == NeighbourName("podsem-worker2") {
		t.Error("two nodes share a neighbour name")
	}
}

// The neighbours' namespace is labelled as the framework's are, so that the
// clean of a later run finds it, and is handed out only once pods can be made
// in it: its default ServiceAccount and CA bundle exist.
func TestPrepareNeighbours(t *testing.T) {
	c := fake.NewClientset()
	c.PrependReactor("create", "namespaces", func(a k8stesting.Action) (bool, runtime.Object, error) {
		ns := a.(k8stesting.CreateAction).GetObject().(*v1.Namespace)
		ns.Name = ns.GenerateName + "abcde"
		return false, nil, nil // the tracker stores it under that name
	})
	time.AfterFunc(300*time.Millisecond, func() {
		ctx := context.Background()
		_, _ = c.CoreV1().ServiceAccounts(NeighbourBaseName+"-abcde").Create(ctx, &v1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
		_, _ = c.CoreV1().ConfigMaps(NeighbourBaseName+"-abcde").Create(ctx, &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kube-root-ca.crt"}}, metav1.CreateOptions{})
	})
	start := time.Now()
	ns, err := PrepareNeighbours(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if ns != NeighbourBaseName+"-abcde" || time.Since(start) < 300*time.Millisecond {
		t.Errorf("got %q after %s: want %s-abcde once its ServiceAccount and CA bundle exist", ns, time.Since(start), NeighbourBaseName)
	}
	got, err := c.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l := got.Labels["e2e-framework"]; !strings.HasPrefix(l, "podsem-") || !strings.HasPrefix(ns, "podsem-") {
		t.Errorf("namespace %s labelled e2e-framework=%q: want both under the suite's prefix podsem-", ns, l)
	}
}
