// Package spec declares podsem specs from the catalogue, so each spec's text and
// labels are the catalogue's, and gives specs their namespaces.
package spec

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	e2eframework "k8s.io/kubernetes/test/e2e/framework"
	admissionapi "k8s.io/pod-security-admission/api"

	"github.com/podsem/podsem/framework/catalogue"
	"github.com/podsem/podsem/framework/config"
	"github.com/podsem/podsem/framework/timing"
)

// NamespacePrefix starts the name of every namespace podsem creates; the
// framework labels each with e2e-framework=<its base name>.
const NamespacePrefix = "podsem-"

// Timeout bounds every spec: its waits are bounded one by one (a pod Ready
// within a minute, an exec answering within a minute), and this bounds their
// sum, so no spec can hang a run.
const Timeout = 5 * time.Minute

// It declares the spec of catalogue entry id: text "[ID] semantic", labels area,
// level and ID, bounded by Timeout. args are further decorators and the body.
func It(id string, args ...any) bool {
	e := catalogue.Lookup(id)
	// The body is wrapped so that the spec's timing entry tells setup, body
	// and teardown apart.
	for i, a := range args {
		if body, ok := a.(func(context.Context)); ok {
			args[i] = func(ctx context.Context) { timing.Body(func() { body(ctx) }) }
		}
	}
	return ginkgo.It(e.Text(), append([]any{ginkgo.Label(e.Labels()...), ginkgo.Offset(1), ginkgo.SpecTimeout(Timeout)}, args...)...)
}

// Takes orders a spec, or an Ordered container of specs, among the others:
// Ginkgo hands specs to its parallel processes by priority, highest first,
// so the longest start first and none starts late to end the run last.
// seconds is roughly what make bench measured for it (a loaded machine's
// figures are fine: only the order counts); an order, never a bound.
func Takes(seconds int) ginkgo.SpecPriority { return ginkgo.SpecPriority(seconds) }

// Selected says whether this run's label filter lets the spec of catalogue
// entry id run (a FOCUS of IDs and podsem run --focus become one), so that a
// shared BeforeAll starts a pod only one of its specs reads only for a run
// that can read it: the kit's sample, a FOCUS=FS-02. It is conservative: no
// filter, one it cannot parse, or a --focus regexp (not consulted) keep it.
func Selected(id string) bool {
	suite, _ := ginkgo.GinkgoConfiguration()
	return selectedBy(suite.LabelFilter, id)
}

func selectedBy(labelFilter, id string) bool {
	match, err := types.ParseLabelFilter(labelFilter)
	return err != nil || match(catalogue.Lookup(id).Labels())
}

// NotOffered ends the current Optional spec because the cluster does not offer
// its semantic: a skip with the reason, unless the spec's ID is claimed
// (--podsem.claim, the profile's supports list), when it is a failure: a
// vendor who says the runtime offers it is held to that.
func NotOffered(reason string) {
	ginkgo.GinkgoHelper()
	for _, label := range ginkgo.CurrentSpecReport().Labels() {
		if config.Current.Claimed(label) {
			e2eframework.Failf("%s is claimed (--podsem.claim or the profile's supports list), but the cluster does not offer it: %s", label, reason)
		}
	}
	ginkgo.Skip(reason)
}

// Framework gives every spec of the enclosing container its own namespace
// (basename gets the podsem- prefix), at pod-security level.
func Framework(basename string, level admissionapi.Level) *e2eframework.Framework {
	// First, so that the spec's timing holds the namespace's set-up and teardown.
	ginkgo.BeforeEach(timing.Track, e2eframework.AnnotatedLocation("timing"))
	f := e2eframework.NewDefaultFramework(NamespacePrefix + basename)
	f.NamespacePodSecurityLevel = level
	// After the framework's BeforeEach, so this cleanup runs before its namespace Delete.
	ginkgo.BeforeEach(func() { ginkgo.DeferCleanup(deletePodsNow, f) }, e2eframework.AnnotatedLocation("delete pods first"))
	return f
}

// SharedFramework gives an Ordered container one namespace for all its specs, so
// they can read one fixture pod: created before the first spec, deleted after the
// last. Call it first in the container, before the BeforeAll that starts pods.
func SharedFramework(basename string, level admissionapi.Level) *e2eframework.Framework {
	f := &e2eframework.Framework{
		BaseName:                  NamespacePrefix + basename,
		Options:                   e2eframework.Options{ClientQPS: 20, ClientBurst: 50},
		Timeouts:                  e2eframework.NewTimeoutContext(),
		NamespacePodSecurityLevel: level,
	}
	ginkgo.BeforeAll(func(ctx context.Context) {
		timing.Begin() // the first spec's account holds the shared set-up
		f.BeforeEach(ctx)
		ginkgo.DeferCleanup(deletePodsNow, f)
	}, e2eframework.AnnotatedLocation("set up shared namespace"))
	ginkgo.BeforeEach(timing.Track, e2eframework.AnnotatedLocation("timing"))
	return f
}

// Token is a random string for payloads and names, unique per call, so that
// nothing a spec sees can come from another spec or an earlier run.
func Token(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// IPCKey is a random SysV IPC key (never IPC_PRIVATE).
func IPCKey() int64 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return int64(binary.BigEndian.Uint32(b[:])&0x3fffffff) + 1
}

// deletePodsNow deletes the pods of f's namespace at grace 0, just before the
// framework deletes the namespace, when that deletion is to happen and nothing
// failed (a failure keeps them for the framework's namespace dump). Pods gone
// from the API at once let the namespace controller finish in one pass: waiting
// on terminating pods, it repeats its whole sweep (discovery, then a list and a
// delete per resource) about nine times per namespace, a third of the API
// server's requests in a run. The kubelet still stops the containers; the
// spec never waits for it.
func deletePodsNow(ctx context.Context, f *e2eframework.Framework) {
	if f.ClientSet == nil || f.Namespace == nil || !e2eframework.TestContext.DeleteNamespace || ginkgo.CurrentSpecReport().Failed() {
		return
	}
	if err := deletePods(ctx, f.ClientSet, f.Namespace.Name); err != nil {
		// The namespace's deletion still removes them, only slower.
		e2eframework.Logf("deleting the pods of namespace %s before it: %v", f.Namespace.Name, err)
	}
}

// deletePods deletes every pod of namespace ns at grace 0, in one request,
// bounded by 30 s, without waiting for the kubelet.
func deletePods(ctx context.Context, c kubernetes.Interface, ns string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	now := int64(0)
	return c.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &now}, metav1.ListOptions{})
}
