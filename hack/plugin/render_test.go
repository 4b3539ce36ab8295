package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestSetFlag(t *testing.T) {
	args := []string{"run", "--runtime-class", "runc", "--results=/r"}
	for _, tc := range []struct {
		name, value string
		want        []string
	}{
		{"--runtime-class", "gvisor", []string{"run", "--runtime-class", "gvisor", "--results=/r"}},
		{"--results", "/x", []string{"run", "--runtime-class", "runc", "--results=/x"}},
		{"--profile", "gvisor", []string{"run", "--runtime-class", "runc", "--results=/r", "--profile", "gvisor"}},
	} {
		if got := setFlag(args, tc.name, tc.value); !slices.Equal(got, tc.want) {
			t.Errorf("setFlag %s %s = %q, want %q", tc.name, tc.value, got, tc.want)
		}
	}
	if args[2] != "runc" {
		t.Error("setFlag changed its input")
	}
}

// The run under sonobuoy is judged like the runs outside: the same
// RuntimeClass, profile and claims, a profile file carried in the plugin's
// config-map; a focused run says it is partial.
func TestRender(t *testing.T) {
	renderFile := func(j judging) (*Plugin, error) {
		t.Helper()
		p, _, err := render(shippedPlugin, "v1", shippedRBAC, j)
		return p, err
	}
	p, err := renderFile(judging{runtimeClass: "gvisor", profile: "gvisor", claim: "PID-02,PID-03", focus: "NET-01,ipc", pullPolicy: "Never"})
	if err != nil {
		t.Fatal(err)
	}
	for flag, want := range map[string]string{"--runtime-class": "gvisor", "--profile": "gvisor", "--claim": "PID-02,PID-03",
		"--focus": "NET-01,ipc", "--pull-policy": "Never"} {
		if got, _ := flagValue(p.Spec.Args, flag); got != want {
			t.Errorf("%s %q, want %q (args %q)", flag, got, want, p.Spec.Args)
		}
	}
	if !hasFlag(p.Spec.Args, "--partial") || p.ConfigMap != nil {
		t.Errorf("args %q (want --partial), config-map %v (want none)", p.Spec.Args, p.ConfigMap)
	}
	if p.PodSpec == nil || p.PodSpec.ServiceAccountName != "podsem" {
		t.Errorf("podSpec %+v, want the RBAC file's ServiceAccount podsem", p.PodSpec)
	}

	// What render writes is still the plugin: it decodes strictly and passes the checks.
	data, err := yaml.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodePlugin(data)
	if err != nil {
		t.Fatalf("the rendered plugin does not decode: %v\n%s", err, data)
	}
	if problems := checkPlugin(back); len(problems) > 0 {
		t.Errorf("the rendered plugin: %s", strings.Join(problems, "; "))
	}

	file := filepath.Join(t.TempDir(), "mine.yaml")
	if err := os.WriteFile(file, []byte("description: mine\ndivergences: []\nsupports: [PID-02]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err = renderFile(judging{profile: file})
	if err != nil {
		t.Fatalf("profile file: %v", err)
	}
	if got, _ := flagValue(p.Spec.Args, "--profile"); got != configDir+"/mine.yaml" || !strings.Contains(p.ConfigMap["mine.yaml"], "supports: [PID-02]") {
		t.Errorf("--profile %q, config-map %v", got, p.ConfigMap)
	}
	if hasFlag(p.Spec.Args, "--partial") {
		t.Errorf("an unfocused run is not partial: args %q", p.Spec.Args)
	}

	for _, j := range []judging{{profile: "nosuch"}, {claim: "NET-01"}, {profile: filepath.Join(t.TempDir(), "gone.yaml")},
		{focus: "NOPE-01"}, {pullPolicy: "Sometimes"}} {
		if _, err := renderFile(j); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: want one error line, got %v", j, err)
		}
	}
}
