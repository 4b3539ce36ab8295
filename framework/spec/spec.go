// Package spec declares podsem specs from the catalogue, so each spec's text and
// labels are the catalogue's, and gives specs their namespaces.
package spec

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"

	"github.com/onsi/ginkgo/v2"
	e2eframework "k8s.io/kubernetes/test/e2e/framework"
	admissionapi "k8s.io/pod-security-admission/api"

	"github.com/podsem/podsem/framework/catalogue"
)

// NamespacePrefix starts the name of every namespace podsem creates; the
// framework labels each with e2e-framework=<its base name>.
const NamespacePrefix = "podsem-"

// It declares the spec of catalogue entry id: text "[ID] semantic", labels area,
// level and ID. args are further decorators and the body.
func It(id string, args ...any) bool {
	e := catalogue.Lookup(id)
	return ginkgo.It(e.Text(), append([]any{ginkgo.Label(e.Labels()...), ginkgo.Offset(1)}, args...)...)
}

// Framework gives every spec of the enclosing container its own namespace
// (basename gets the podsem- prefix), at pod-security level.
func Framework(basename string, level admissionapi.Level) *e2eframework.Framework {
	f := e2eframework.NewDefaultFramework(NamespacePrefix + basename)
	f.NamespacePodSecurityLevel = level
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
	ginkgo.BeforeAll(f.BeforeEach, e2eframework.AnnotatedLocation("set up shared namespace"))
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
