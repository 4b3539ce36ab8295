package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
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

// The in-cluster run is judged like the runs outside: the same RuntimeClass,
// profile and claims, a profile file carried in a ConfigMap.
func TestJudgingApply(t *testing.T) {
	plugin := func() *Plugin {
		p, err := decodePlugin([]byte(readFile(t, shippedPlugin)))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := plugin()
	cm, _, _, err := judging{runtimeClass: "gvisor", profile: "gvisor", claim: "PID-02,PID-03"}.apply(p, "ns", "x-profile")
	if err != nil || cm != nil {
		t.Fatalf("embedded profile: %v, ConfigMap %v", err, cm)
	}
	for flag, want := range map[string]string{"--runtime-class": "gvisor", "--profile": "gvisor", "--claim": "PID-02,PID-03"} {
		if got, _ := flagValue(p.Spec.Args, flag); got != want {
			t.Errorf("%s %q, want %q (args %q)", flag, got, want, p.Spec.Args)
		}
	}

	file := filepath.Join(t.TempDir(), "mine.yaml")
	if err := os.WriteFile(file, []byte("description: mine\ndivergences: []\nsupports: [PID-02]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p = plugin()
	cm, vol, mount, err := judging{profile: file}.apply(p, "ns", "x-profile")
	if err != nil || cm == nil || vol == nil || mount == nil {
		t.Fatalf("profile file: %v", err)
	}
	if got, _ := flagValue(p.Spec.Args, "--profile"); got != profileDir+"/mine.yaml" || cm.Data["mine.yaml"] == "" ||
		vol.ConfigMap.Name != cm.Name || cm.Namespace != "ns" || mount.MountPath != profileDir {
		t.Errorf("--profile %q, ConfigMap %+v, volume %+v, mount %+v", got, cm, vol, mount)
	}

	for _, j := range []judging{{profile: "nosuch"}, {claim: "NET-01"}, {profile: filepath.Join(t.TempDir(), "gone.yaml")}} {
		if _, _, _, err := j.apply(plugin(), "ns", "x"); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: want one error line, got %v", j, err)
		}
	}
}
