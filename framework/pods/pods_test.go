package pods

import "testing"

func TestUnsupportedTellsAMissingFeatureFromAFailure(t *testing.T) {
	for msg, want := range map[string]bool{
		`FailedCreatePodSandBox: rpc error: code = Unknown desc = failed to create containerd container: RuntimeClass handler "crun" does not support user namespaces`: true,
		"container debug: StartError: OCI runtime create failed: user namespaces not supported":                                                                        true,
		"container a: RunContainerError: failed to start: operation unsupported by runtime":                                                                            true,
		"mq_open: function not implemented": true,
		`container debug: RunContainerError: runc create failed: unable to start container process: error during container init: error setting cgroup config for procHooks process: unable to freeze`: false,
		"container a: CreateContainerError: context deadline exceeded": false,
		"": false,
	} {
		if got := Unsupported(msg); got != want {
			t.Errorf("Unsupported(%q) = %t, want %t", msg, got, want)
		}
	}
}
