package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ginkgoJUnit is shaped like Ginkgo's JUnit report: a <testsuites> of one
// <testsuite>, suite nodes as testcases beside the specs.
const ginkgoJUnit = `<?xml version="1.0" encoding="UTF-8"?>
  <testsuites tests="4" disabled="0" errors="0" failures="1" time="2.5">
      <testsuite name="podsem pod semantics" tests="4" skipped="1" failures="1">
          <properties><property name="SuiteSucceeded" value="false"></property></properties>
          <testcase name="[SynchronizedBeforeSuite]" classname="podsem pod semantics" status="passed" time="0.1"></testcase>
          <testcase name="[NET-01] a TCP server" classname="podsem pod semantics" status="passed" time="1"><system-err>ok</system-err></testcase>
          <testcase name="[IPC-03] a POSIX message queue" classname="podsem pod semantics" status="failed" time="1">
              <failure message="not shared" type="failed">[FAILED] not shared</failure>
          </testcase>
          <testcase name="[USER-01] user namespaces" classname="podsem pod semantics" status="skipped" time="0.4">
              <skipped message="skipped - not offered"></skipped>
          </testcase>
      </testsuite>
  </testsuites>`

func TestParseJUnit(t *testing.T) {
	c, err := parseJUnit([]byte(ginkgoJUnit))
	if err != nil {
		t.Fatal(err)
	}
	if c.Testcases != 4 || c.Skipped != 1 || !slices.Equal(c.Failed, []string{"[IPC-03] a POSIX message queue"}) {
		t.Errorf("got %+v, want 4 testcases, failed [IPC-03], 1 skipped", c)
	}

	single := `<testsuite name="x"><testcase name="a"/><testcase name="b"><error message="panic"/></testcase></testsuite>`
	c, err = parseJUnit([]byte(single))
	if err != nil || c.Testcases != 2 || len(c.Failed) != 1 {
		t.Errorf("a lone <testsuite> with an <error>: got %+v, %v; want 2 testcases, 1 failed", c, err)
	}

	for name, doc := range map[string]string{
		"not XML":     `{"tests": 3}`,
		"not JUnit":   `<report><testcase name="a"/></report>`,
		"truncated":   `<testsuites><testsuite><testcase name="a">`,
		"empty input": ``,
	} {
		if _, err := parseJUnit([]byte(doc)); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
	c, err = parseJUnit([]byte(`<testsuites tests="0"></testsuites>`))
	if err != nil || c.Testcases != 0 {
		t.Errorf("an empty report: got %+v, %v; want 0 testcases (which checkJUnit refuses)", c, err)
	}
}

func TestResultPath(t *testing.T) {
	const mount = "/tmp/sonobuoy/results"
	for done, want := range map[string]string{
		"/tmp/sonobuoy/results/podsem-results.tar.gz\n": "podsem-results.tar.gz",
		"/tmp/sonobuoy/results/sub/./r.tar.gz":          "sub/r.tar.gz",
	} {
		if got, err := resultPath(done, mount); err != nil || got != want {
			t.Errorf("resultPath(%q) = %q, %v; want %q", done, got, err, want)
		}
	}
	for _, done := range []string{
		"", "  \n", "podsem-results.tar.gz", "/tmp/sonobuoy/results", "/tmp/sonobuoy/results/",
		"/tmp/sonobuoy/results/../x.tar.gz", "/tmp/sonobuoy/resultsX/r.tar.gz", "/etc/passwd",
	} {
		if got, err := resultPath(done, mount); err == nil {
			t.Errorf("resultPath(%q) = %q, want an error", done, got)
		}
	}
}

func TestRunnerPod(t *testing.T) {
	p, err := loadPlugin(shippedPlugin, "v1")
	if err != nil {
		t.Fatal(err)
	}
	r, err := loadRBAC(shippedRBAC)
	if err != nil {
		t.Fatal(err)
	}
	pod := runnerPod(p, r, "podsem-podsem-abc")
	s := pod.Spec
	if pod.Namespace != "podsem-runner" || s.ServiceAccountName != "podsem" || s.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("pod in %s as %s, restartPolicy %s; want podsem-runner, podsem, Never", pod.Namespace, s.ServiceAccountName, s.RestartPolicy)
	}
	if len(s.Containers) != 1 || s.Containers[0].Name != "plugin" || s.Containers[0].Image != "podsem/podsem:v1" {
		t.Errorf("containers %v, want only the plugin's", s.Containers)
	}
	if len(s.Volumes) != 1 || s.Volumes[0].Name != "results" || s.Volumes[0].HostPath == nil ||
		s.Volumes[0].HostPath.Path != "/var/lib/podsem-results/podsem-podsem-abc" || *s.Volumes[0].HostPath.Type != corev1.HostPathDirectoryOrCreate {
		t.Errorf("volumes %+v, want results: hostPath /var/lib/podsem-results/podsem-podsem-abc, DirectoryOrCreate", s.Volumes)
	}

	// A plugin's own podSpec is the base, as in sonobuoy, but the pod always
	// runs as the RBAC file's ServiceAccount.
	p.PodSpec = &corev1.PodSpec{ServiceAccountName: "sonobuoy-serviceaccount", RestartPolicy: corev1.RestartPolicyNever, HostNetwork: true}
	pod = runnerPod(p, r, "x")
	if pod.Spec.ServiceAccountName != "podsem" || !pod.Spec.HostNetwork || p.PodSpec.ServiceAccountName != "sonobuoy-serviceaccount" {
		t.Errorf("with a podSpec: ServiceAccount %s, hostNetwork %t (plugin's podSpec left as it was: %s)", pod.Spec.ServiceAccountName, pod.Spec.HostNetwork, p.PodSpec.ServiceAccountName)
	}
}

func TestStuck(t *testing.T) {
	start := time.Now()
	pullErr := &corev1.Pod{Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
		Name: "plugin", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: "no registry\nmore"}},
	}}}}
	if got := stuck(pullErr, start); !strings.Contains(got, "ErrImagePull: no registry") {
		t.Errorf("image pull error: %q", got)
	}
	creating := &corev1.Pod{Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
		Name: "plugin", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}},
	}}}}
	if got := stuck(creating, start); got != "" {
		t.Errorf("a container being created is not stuck: %q", got)
	}
	unschedulable := &corev1.Pod{Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: "0/1 nodes are available",
		LastTransitionTime: metav1.Now(),
	}}}}
	if got := stuck(unschedulable, start); got != "" {
		t.Errorf("unschedulable for a moment is not stuck yet: %q", got)
	}
	if got := stuck(unschedulable, start.Add(-2*unschedulableWait)); !strings.Contains(got, "0/1 nodes are available") {
		t.Errorf("unschedulable for long: %q", got)
	}
}

func TestFailedNames(t *testing.T) {
	got := failedNames([]string{"[It] network [NET-01] a TCP server [network, Required, NET-01]", "[SynchronizedBeforeSuite]"})
	if got != "NET-01, [SynchronizedBeforeSuite]" {
		t.Errorf("got %q", got)
	}
	var many []string
	for range 14 {
		many = append(many, "[It] x [IPC-03] y")
	}
	if got := failedNames(many); !strings.HasSuffix(got, ", and 2 more") {
		t.Errorf("14 names: got %q", got)
	}
}
