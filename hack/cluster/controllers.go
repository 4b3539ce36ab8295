package main

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// controllersWait bounds how long a reused cluster's controller manager may
// take to act. After a Docker restart it first waits out its predecessor's
// leader lease (15 s), and until then no namespace gets its default
// ServiceAccount, so every pod created in a new namespace is refused.
const controllersWait = time.Minute

// controllersAct proves the controller manager works: a new namespace gets its
// default ServiceAccount. The namespace is deleted again, not awaited.
func controllersAct(ctx context.Context, client kubernetes.Interface) error {
	ns, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "podsem-controllers-"}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating a namespace: %v", err)
	}
	defer func() {
		_ = client.CoreV1().Namespaces().Delete(context.WithoutCancel(ctx), ns.Name, metav1.DeleteOptions{})
	}()
	deadline := time.Now().Add(controllersWait)
	for {
		_, err := client.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{})
		if err == nil {
			return nil
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("its controller manager does not act: namespace %s has no default ServiceAccount after %s (%v)", ns.Name, controllersWait, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
