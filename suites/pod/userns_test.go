package pod

import (
	"context"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	admissionapi "k8s.io/pod-security-admission/api"

	"github.com/podsem/podsem/framework/pods"
	"github.com/podsem/podsem/framework/probe"
	"github.com/podsem/podsem/framework/spec"
)

// userns's shared emptyDir, in both containers.
const usernsShared = "/shared"

var _ = ginkgo.Describe("userns", spec.Takes(5), func() {
	f := spec.Framework("userns", admissionapi.LevelBaseline)

	spec.It("USER-01", func(ctx context.Context) {
		pod, skip := pods.StartOptional(ctx, f, pods.Load("userns"))
		if skip != "" {
			spec.NotOffered(skip)
		}
		// An API server without the feature drops the field: the pod runs, but
		// with the node's users, which is not the semantic under test.
		if pod.Spec.HostUsers == nil || *pod.Spec.HostUsers {
			spec.NotOffered("the API server dropped spec.hostUsers: false (user namespaces not enabled)")
		}

		// Each container's namespaces, and (the behaviour below) a file container
		// a creates in a shared volume, stat'ed by container b: one exec each.
		path := usernsShared + "/" + spec.Token("user01")
		inA := probe.Batch(ctx, f, pod, "a", []string{"ns"}, []string{"file", "write", path, "owned by the pod's root"})
		inB := probe.Batch(ctx, f, pod, "b", []string{"ns"}, []string{"file", "stat", path})
		a, b := nsIn(inA[0]), nsIn(inB[0])
		// Root in the pod is not root on the node, whatever the map's form
		// ("0 0 65536" is a map, and maps root to root).
		for _, c := range []struct {
			name string
			ns   probe.NS
		}{{"a", a}, {"b", b}} {
			for _, m := range []struct{ kind, idMap string }{{"uid", c.ns.UIDMap}, {"gid", c.ns.GIDMap}} {
				host, ok := probe.HostID(m.idMap, 0)
				gomega.Expect(ok).To(gomega.BeTrue(), "container %s's %s map covers %s 0: %q", c.name, m.kind, m.kind, m.idMap)
				gomega.Expect(host).NotTo(gomega.BeZero(), "container %s's %s 0 is %s %d on the node, not the node's root: %q", c.name, m.kind, m.kind, host, m.idMap)
			}
		}
		gomega.Expect(b.UIDMap).To(gomega.Equal(a.UIDMap), "container b has container a's uid map")
		gomega.Expect(b.GIDMap).To(gomega.Equal(a.GIDMap), "and its gid map")

		// Behaviour: root in a and root in b are one owner: a file a creates in a
		// shared volume belongs to b's root.
		inA[1].DecodeOK(&probe.File{})
		var st probe.File
		inB[1].DecodeOK(&st)
		gomega.Expect(st.Exists).To(gomega.BeTrue(), "container b sees the file container a wrote")
		gomega.Expect(st.UID).To(gomega.HaveValue(gomega.BeZero()), "the file container a's root created is owned by uid 0 as container b sees it")
		gomega.Expect(st.GID).To(gomega.HaveValue(gomega.BeZero()), "and by gid 0")
		gomega.Expect(b.Namespace("user")).To(gomega.Equal(a.Namespace("user")), "one user namespace")
	})
})
