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

// The image check waits for the namespace's default ServiceAccount, which
// comes a moment after the namespace, and says so when it never does.
func TestAwaitDefaultServiceAccount(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	err := awaitDefaultServiceAccount(ctx, client, "podsem-preflight-x", time.Now().Add(300*time.Millisecond))
	if err == nil || !strings.Contains(err.Error(), "no default ServiceAccount") {
		t.Fatalf("no ServiceAccount: want an error naming it, got %v", err)
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		_, _ = client.CoreV1().ServiceAccounts("podsem-preflight-y").Create(ctx,
			&v1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
	}()
	if err := awaitDefaultServiceAccount(ctx, client, "podsem-preflight-y", time.Now().Add(5*time.Second)); err != nil {
		t.Fatalf("ServiceAccount created after 300 ms: want no error, got %v", err)
	}
}
