package pods

import (
	"context"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientfeatures "k8s.io/client-go/features"
	clientfeaturestesting "k8s.io/client-go/features/testing"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	e2eframework "k8s.io/kubernetes/test/e2e/framework"
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
	// The fake clientset sends no watch-list bookmarks; the framework's waits
	// then fall back to list and watch, as against an older API server.
	clientfeaturestesting.SetFeatureDuringTest(t, clientfeatures.WatchListClient, false)
	verify := e2eframework.TestContext.VerifyServiceAccount
	e2eframework.TestContext.VerifyServiceAccount = true // the flag's default
	t.Cleanup(func() { e2eframework.TestContext.VerifyServiceAccount = verify })
	c := fake.NewClientset()
	c.PrependReactor("create", "namespaces", func(a k8stesting.Action) (bool, runtime.Object, error) {
		ns := a.(k8stesting.CreateAction).GetObject().(*v1.Namespace).Name
		time.AfterFunc(300*time.Millisecond, func() {
			ctx := context.Background()
			_, _ = c.CoreV1().ServiceAccounts(ns).Create(ctx, &v1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
			_, _ = c.CoreV1().ConfigMaps(ns).Create(ctx, &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kube-root-ca.crt"}}, metav1.CreateOptions{})
		})
		return false, nil, nil // the tracker stores it
	})
	start := time.Now()
	ns, err := PrepareNeighbours(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 300*time.Millisecond {
		t.Errorf("got %q after %s: want it once its ServiceAccount and CA bundle exist (300ms)", ns, time.Since(start))
	}
	got, err := c.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l := got.Labels["e2e-framework"]; !strings.HasPrefix(l, "podsem-") || !strings.HasPrefix(ns, "podsem-") {
		t.Errorf("namespace %s labelled e2e-framework=%q: want both under the suite's prefix podsem-", ns, l)
	}
}
