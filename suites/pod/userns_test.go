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

const (
	// identityMap is the uid/gid map of the node's own user namespace.
	identityMap = "0 0 4294967295"
	// userns's shared emptyDir, in both containers.
	usernsShared = "/shared"
)

var _ = ginkgo.Describe("userns", func() {
	f := spec.Framework("userns", admissionapi.LevelBaseline)

	spec.It("USER-01", func(ctx context.Context) {
		pod, skip := pods.StartOptional(ctx, f, pods.Load("userns"))
		if skip != "" {
			ginkgo.Skip(skip)
		}
		// An API server without the feature drops the field: the pod runs, but
		// with the node's users, which is not the semantic under test.
		if pod.Spec.HostUsers == nil || *pod.Spec.HostUsers {
			ginkgo.Skip("the API server dropped spec.hostUsers: false (user namespaces not enabled)")
		}

		a, b := nsOf(ctx, f, pod, "a"), nsOf(ctx, f, pod, "b")
		gomega.Expect(a.UIDMap).NotTo(gomega.BeEmpty())
		gomega.Expect(a.UIDMap).NotTo(gomega.Equal(identityMap), "container a runs in a user namespace of the pod's, not the node's")
		gomega.Expect(a.GIDMap).NotTo(gomega.Equal(identityMap), "with a gid map of its own too")
		gomega.Expect(b.UIDMap).To(gomega.Equal(a.UIDMap), "container b has container a's uid map")
		gomega.Expect(b.GIDMap).To(gomega.Equal(a.GIDMap), "and its gid map")

		// Behaviour: root in a and root in b are one owner: a file a creates in a
		// shared volume belongs to b's root.
		path := usernsShared + "/" + spec.Token("user01")
		write(ctx, f, pod, "a", path, "owned by the pod's root")
		var st probe.File
		probe.Into(ctx, f, pod, "b", &st, "file", "stat", path)
		gomega.Expect(st.Exists).To(gomega.BeTrue(), "container b sees the file container a wrote")
		gomega.Expect(st.UID).To(gomega.HaveValue(gomega.BeZero()), "the file container a's root created is owned by uid 0 as container b sees it")
		gomega.Expect(st.GID).To(gomega.HaveValue(gomega.BeZero()), "and by gid 0")

		// Behaviour: each container's root holds CAP_NET_RAW over the pod's network
		// namespace, which the kernel grants only within the user namespace that
		// owns it: both are in the pod's user namespace, not one of their own.
		for _, c := range []string{"a", "b"} {
			var raw probe.RawSocket
			r := probe.Run(ctx, f, pod, c, "raw-socket")
			r.Decode(&raw)
			gomega.Expect(raw.Opened).To(gomega.BeTrue(),
				"root in container %s opens a raw socket in the pod's network namespace, so it is root in the user namespace owning it: %s", c, r.Describe())
		}
		gomega.Expect(b.Namespaces["user"]).To(gomega.Equal(a.Namespaces["user"]), "one user namespace")
	})
})
