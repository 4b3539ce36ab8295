package preflight

import (
	"context"
	"fmt"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// frameworkLabel is the label the e2e framework puts on every namespace it makes,
// valued with the framework's base name (podsem's start with "podsem-").
const frameworkLabel = "e2e-framework"

// Clean deletes every namespace a podsem run made (framework label with a podsem-
// base name) that is older than minAge, and returns their names. A run in
// progress elsewhere on the cluster keeps its namespaces when minAge exceeds the
// suite's timeout. It does not wait for them to be gone.
func Clean(ctx context.Context, client kubernetes.Interface, prefix string, minAge time.Duration) ([]string, error) {
	list, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: frameworkLabel})
	if err != nil {
		return nil, fmt.Errorf("listing namespaces: %s", reason(err))
	}
	var deleted []string
	for _, ns := range list.Items {
		if !madeByRun(ns, prefix) {
			continue
		}
		if time.Since(ns.CreationTimestamp.Time) < minAge {
			continue
		}
		if ns.DeletionTimestamp != nil {
			continue
		}
		if err := client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil {
			return deleted, fmt.Errorf("deleting namespace %s: %s", ns.Name, reason(err))
		}
		deleted = append(deleted, ns.Name)
	}
	return deleted, nil
}

// Settle waits until no namespace a podsem run made (as Clean picks them) is
// terminating, polling every 250 ms within bound, and says how many it saw go
// and how long that took. Past the bound it fails, naming what is left.
func Settle(ctx context.Context, client kubernetes.Interface, prefix string, bound time.Duration) (int, time.Duration, error) {
	start := time.Now()
	seen := map[string]bool{}
	for {
		list, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: frameworkLabel})
		if err != nil {
			return len(seen), time.Since(start), fmt.Errorf("listing namespaces: %s", reason(err))
		}
		var terminating []string
		for _, ns := range list.Items {
			if ns.DeletionTimestamp != nil && madeByRun(ns, prefix) {
				terminating = append(terminating, ns.Name)
				seen[ns.Name] = true
			}
		}
		if len(terminating) == 0 {
			return len(seen), time.Since(start), nil
		}
		if time.Since(start) >= bound {
			return len(seen), time.Since(start), fmt.Errorf("%d namespace(s) still terminating after %s: %s", len(terminating), bound, strings.Join(terminating, " "))
		}
		select {
		case <-ctx.Done():
			return len(seen), time.Since(start), ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// madeByRun says whether a podsem run made namespace ns: the framework's label
// with a base name under prefix, and a name under it.
func madeByRun(ns v1.Namespace, prefix string) bool {
	return strings.HasPrefix(ns.Labels[frameworkLabel], prefix) && strings.HasPrefix(ns.Name, prefix)
}
