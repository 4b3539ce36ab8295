package main

import (
	"os"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

const shippedPlugin = "../../docs/sonobuoy/podsem.yaml"

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// templateProblems lists what keeps the shipped, unrendered plugin from being
// rendered by `make dist`: image references without the version token.
func templateProblems(p *Plugin) []string {
	var problems []string
	if !strings.Contains(p.Spec.Image, versionToken) {
		problems = append(problems, "spec.image "+p.Spec.Image+" lacks "+versionToken)
	}
	if img, ok := flagValue(p.Spec.Args, "--image"); !ok || !strings.Contains(img, versionToken) {
		problems = append(problems, "the fixture image after --image ("+img+") lacks "+versionToken)
	}
	return problems
}

func TestShippedPlugin(t *testing.T) {
	p, err := decodePlugin([]byte(readFile(t, shippedPlugin)))
	if err != nil {
		t.Fatalf("strict decode: %v", err)
	}
	if problems := append(checkPlugin(p), templateProblems(p)...); len(problems) > 0 {
		t.Fatalf("%s:\n  %s", shippedPlugin, strings.Join(problems, "\n  "))
	}
	c := p.SonobuoyConfig
	if c.Driver != "Job" || c.ResultFormat != "junit" || c.PluginName != "podsem" {
		t.Errorf("sonobuoy-config = %+v, want driver Job, result-format junit, plugin-name podsem", c)
	}
	s := p.Spec
	if s.Name != "plugin" || !slices.Equal(s.Command, []string{"/podsem"}) || s.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("spec: name %q, command %q, imagePullPolicy %q; want plugin, [/podsem], IfNotPresent", s.Name, s.Command, s.ImagePullPolicy)
	}
	if rc, _ := flagValue(s.Args, "--runtime-class"); rc != "runc" {
		t.Errorf("--runtime-class %q, want runc", rc)
	}
	results, _ := flagValue(s.Args, "--results")
	if mount := resultsMount(s); results != "/tmp/sonobuoy/results" || mount != results {
		t.Errorf("--results %q and results mountPath %q, want both /tmp/sonobuoy/results (sonobuoy's default ResultsDir)", results, mount)
	}
	if p.PodSpec != nil {
		t.Errorf("the shipped plugin sets a podSpec; sonobuoy would run it with the given service account, which must exist in sonobuoy's namespace")
	}
}

// TestPluginChecksCatchBreakage breaks the shipped plugin one way at a time:
// every check must notice its own breakage.
func TestPluginChecksCatchBreakage(t *testing.T) {
	shipped := readFile(t, shippedPlugin)
	cases := []struct {
		name, old, new string
		want           string // in the decode error or a problem
	}{
		{"unknown sonobuoy-config field", "  result-format: junit", "  result-formats: junit", `unknown field "result-formats"`},
		{"sonobuoy's removed result-type", "  result-format: junit", "  result-format: junit\n  result-type: podsem", `unknown field "result-type"`},
		{"unknown container field", "  imagePullPolicy: IfNotPresent", "  imagePullPolicyy: IfNotPresent", `unknown field "imagePullPolicyy"`},
		{"duplicate key", "  plugin-name: podsem", "  plugin-name: podsem\n  plugin-name: other", `key "plugin-name" already set`},
		{"DaemonSet driver", "  driver: Job", "  driver: DaemonSet", "driver is \"DaemonSet\""},
		{"raw results", "  result-format: junit", "  result-format: raw", "result-format is \"raw\""},
		{"no plugin name", "  plugin-name: podsem", "  plugin-name: \"\"", "plugin-name is empty"},
		{"args not run", "  - run\n", "  - list\n", "do not start with run"},
		{"no --sonobuoy", "  - --sonobuoy\n", "", "lack --sonobuoy"},
		{"no --results", "  - --results\n  - /tmp/sonobuoy/results\n", "", "lack --results"},
		{"--results elsewhere", "  - /tmp/sonobuoy/results\n", "  - /tmp/results\n", "is not the \"results\" volume's mountPath"},
		{"mount elsewhere", "    mountPath: /tmp/sonobuoy/results", "    mountPath: /results", "is not the \"results\" volume's mountPath"},
		{"mount renamed", "  - name: results\n", "  - name: reports\n", "no volumeMount named \"results\""},
		{"runner image without token", "  image: podsem/podsem:PODSEM_VERSION", "  image: podsem/podsem:latest", "spec.image podsem/podsem:latest lacks"},
		{"fixture image without token", "  - podsem/podprobe:PODSEM_VERSION", "  - podsem/podprobe:latest", "after --image (podsem/podprobe:latest) lacks"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(shipped, tc.old) {
				t.Fatalf("the shipped plugin no longer contains %q: update the test", tc.old)
			}
			broken := strings.Replace(shipped, tc.old, tc.new, 1)
			p, err := decodePlugin([]byte(broken))
			var got string
			if err != nil {
				got = err.Error()
			} else {
				got = strings.Join(append(checkPlugin(p), templateProblems(p)...), "; ")
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("broken plugin: got %q, want it to say %q", got, tc.want)
			}
		})
	}
}

// TestCommentedPodSpec keeps the podSpec the plugin offers in a comment (to
// run as the ServiceAccount of rbac.yaml) valid: uncommented, it decodes
// strictly and runs the pod as that account, never restarted.
func TestCommentedPodSpec(t *testing.T) {
	p, err := loadPlugin(shippedPlugin, "v1", true)
	if err != nil {
		t.Fatalf("the uncommented podSpec does not decode: %v", err)
	}
	r, err := loadRBAC(shippedRBAC)
	if err != nil {
		t.Fatal(err)
	}
	if p.PodSpec == nil || p.PodSpec.ServiceAccountName != r.ServiceAccount.Name || p.PodSpec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("uncommented podSpec = %+v, want serviceAccountName %s and restartPolicy Never", p.PodSpec, r.ServiceAccount.Name)
	}
	if _, err := uncommentPodSpec([]byte("sonobuoy-config: {}\n")); err == nil {
		t.Error("a plugin without the commented podSpec: want an error")
	}
}

func TestLoadPluginRenders(t *testing.T) {
	p, err := loadPlugin(shippedPlugin, "v9-test", false)
	if err != nil {
		t.Fatal(err)
	}
	if img, _ := flagValue(p.Spec.Args, "--image"); p.Spec.Image != "podsem/podsem:v9-test" || img != "podsem/podprobe:v9-test" {
		t.Errorf("rendered images %s and %s, want podsem/podsem:v9-test and podsem/podprobe:v9-test", p.Spec.Image, img)
	}
	if _, err := loadPlugin(shippedPlugin, "", false); err == nil || !strings.Contains(err.Error(), "--version") {
		t.Errorf("an unrendered plugin: got %v, want an error telling to pass --version", err)
	}
}

func TestFlagValue(t *testing.T) {
	args := []string{"run", "--results", "/a", "--image=b", "--sonobuoy"}
	for flag, want := range map[string]string{"--results": "/a", "--image": "b"} {
		if got, ok := flagValue(args, flag); !ok || got != want {
			t.Errorf("flagValue(%s) = %q, %t; want %q", flag, got, ok, want)
		}
	}
	if _, ok := flagValue(args, "--sonobuoy"); ok {
		t.Error("a flag without a value has none")
	}
}
