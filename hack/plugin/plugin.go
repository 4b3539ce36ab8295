package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// versionToken stands for the kit's version in the shipped plugin definition;
// `make dist` replaces it.
const versionToken = "PODSEM_VERSION"

// Plugin is a sonobuoy plugin definition, with the fields sonobuoy's manifest
// knows (pkg/plugin/manifest: Manifest and SonobuoyConfig), so that a strict
// decode rejects anything sonobuoy would not read (sonobuoy itself ignores an
// unknown field). extra-volumes is left out: podsem's plugin uses none.
// config-map's files appear in the plugin container under configDir.
type Plugin struct {
	SonobuoyConfig SonobuoyConfig    `json:"sonobuoy-config"`
	Spec           corev1.Container  `json:"spec"`
	PodSpec        *corev1.PodSpec   `json:"podSpec,omitempty"`
	ConfigMap      map[string]string `json:"config-map,omitempty"`
}

// configDir is where sonobuoy mounts a plugin's config-map in its container.
const configDir = "/tmp/sonobuoy/config"

// SonobuoyConfig is a plugin's sonobuoy-config section.
type SonobuoyConfig struct {
	Driver       string   `json:"driver"`
	PluginName   string   `json:"plugin-name"`
	SkipCleanup  bool     `json:"skip-cleanup,omitempty"`
	ResultFormat string   `json:"result-format,omitempty"`
	ResultFiles  []string `json:"result-files,omitempty"`
	Description  string   `json:"description,omitempty"`
	SourceURL    string   `json:"source-url,omitempty"`
	Order        int      `json:"order,omitempty"`
}

// resultsVolume is the volume sonobuoy adds to every plugin pod and mounts in its
// worker sidecar at its ResultsDir; the plugin container mounts it too, and
// writes there the done file the worker waits for.
const resultsVolume = "results"

// decodePlugin decodes a plugin definition strictly: unknown or duplicate
// fields are errors.
func decodePlugin(data []byte) (*Plugin, error) {
	var p Plugin
	if err := yaml.UnmarshalStrict(data, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// loadPlugin reads, renders (version replaces the token, when given; the
// commented podSpec is uncommented with asAccount) and checks the plugin
// definition at path.
func loadPlugin(path, version string, asAccount bool) (*Plugin, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError{fmt.Errorf("plugin: %v", err)}
	}
	if asAccount {
		if data, err = uncommentPodSpec(data); err != nil {
			return nil, usageError{fmt.Errorf("plugin %s: %v", path, err)}
		}
	}
	text := string(data)
	if version != "" {
		text = strings.ReplaceAll(text, versionToken, version)
	}
	p, err := decodePlugin([]byte(text))
	if err != nil {
		return nil, usageError{fmt.Errorf("plugin %s is not a sonobuoy plugin definition: %v", path, err)}
	}
	if problems := checkPlugin(p); len(problems) > 0 {
		return nil, usageError{fmt.Errorf("plugin %s: %s", path, strings.Join(problems, "; "))}
	}
	if strings.Contains(p.Spec.Image+" "+strings.Join(p.Spec.Args, " "), versionToken) {
		return nil, usageError{fmt.Errorf("plugin %s still carries the token %s in its image references: pass --version VERSION (the tag of podsem/podsem)", path, versionToken)}
	}
	return p, nil
}

// checkPlugin lists what keeps a plugin definition from running podsem under
// sonobuoy's Job driver and fulfilling the worker contract.
func checkPlugin(p *Plugin) []string {
	var problems []string
	c := p.SonobuoyConfig
	if c.Driver != "Job" {
		problems = append(problems, fmt.Sprintf("sonobuoy-config.driver is %q, not Job", c.Driver))
	}
	if c.PluginName == "" {
		problems = append(problems, "sonobuoy-config.plugin-name is empty")
	}
	if c.ResultFormat != "junit" {
		problems = append(problems, fmt.Sprintf("sonobuoy-config.result-format is %q, not junit", c.ResultFormat))
	}
	s := p.Spec
	if s.Name == "" {
		problems = append(problems, "spec.name is empty")
	}
	if s.Image == "" {
		problems = append(problems, "spec.image is empty")
	}
	if len(s.Args) == 0 || s.Args[0] != "run" {
		problems = append(problems, fmt.Sprintf("spec.args %q do not start with run", s.Args))
	}
	if !slices.Contains(s.Args, "--sonobuoy") {
		problems = append(problems, "spec.args lack --sonobuoy (without it the launcher writes no done file)")
	}
	results, ok := flagValue(s.Args, "--results")
	mount := resultsMount(s)
	switch {
	case !ok:
		problems = append(problems, "spec.args lack --results DIR")
	case mount == "":
		problems = append(problems, fmt.Sprintf("spec has no volumeMount named %q", resultsVolume))
	case results != mount:
		problems = append(problems, fmt.Sprintf("--results %s is not the %q volume's mountPath %s", results, resultsVolume, mount))
	}
	return problems
}

// flagValue is the value of flag name in args, as "--name VALUE" or "--name=VALUE".
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1], true
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// resultsMount is where the plugin container mounts the results volume.
func resultsMount(c corev1.Container) string {
	for _, m := range c.VolumeMounts {
		if m.Name == resultsVolume {
			return m.MountPath
		}
	}
	return ""
}

// podSpecComment opens the podSpec that podsem.yaml offers in a comment.
const podSpecComment = "# podSpec:"

// uncommentPodSpec is the plugin definition with the podSpec it offers in a
// comment (to run as the ServiceAccount of rbac.yaml) uncommented: the comment
// block from "# podSpec:" on, each line without its "# ".
func uncommentPodSpec(data []byte) ([]byte, error) {
	lines := strings.Split(string(data), "\n")
	start := slices.Index(lines, podSpecComment)
	if start < 0 {
		return nil, fmt.Errorf("no commented podSpec (a line %q) to run the plugin as the RBAC file's ServiceAccount", podSpecComment)
	}
	for i := start; i < len(lines) && strings.HasPrefix(lines[i], "#"); i++ {
		lines[i] = strings.TrimPrefix(strings.TrimPrefix(lines[i], "#"), " ")
	}
	return []byte(strings.Join(lines, "\n")), nil
}
