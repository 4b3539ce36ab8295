package preflight

import (
	"context"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// Settle waits only for terminating namespaces of podsem runs, says how many
// went, and names those left past its bound.
func TestSettle(t *testing.T) {
	ctx := context.Background()
	gone := metav1.Now()
	namespace := func(name, base string, terminating bool) *v1.Namespace {
		ns := &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{frameworkLabel: base}}}
		if terminating {
			ns.DeletionTimestamp = &gone
		}
		return ns
	}
	client := fake.NewClientset(
		namespace("podsem-ipc-1", "podsem-ipc", true),
		namespace("podsem-uts-2", "podsem-uts", false),    // live: not waited for
		namespace("other-net-3", "other-net", true),       // not podsem's
		namespace("podsem-stuck-4", "podsem-stuck", true), // never goes
	)
	go func() {
		time.Sleep(300 * time.Millisecond)
		_ = client.CoreV1().Namespaces().Delete(ctx, "podsem-ipc-1", metav1.DeleteOptions{})
	}()
	n, _, err := Settle(ctx, client, "podsem-", time.Second)
	if err == nil || !strings.Contains(err.Error(), "podsem-stuck-4") || strings.Contains(err.Error(), "podsem-ipc-1") {
		t.Fatalf("one namespace never goes: want an error naming it alone, got %v", err)
	}
	if n != 2 {
		t.Errorf("saw %d terminating namespaces, want 2", n)
	}
	_ = client.CoreV1().Namespaces().Delete(ctx, "podsem-stuck-4", metav1.DeleteOptions{})
	n, waited, err := Settle(ctx, client, "podsem-", time.Second)
	if err != nil || n != 0 || waited > 500*time.Millisecond {
		t.Fatalf("nothing terminating: want at once, got %d after %s, %v", n, waited, err)
	}
}
