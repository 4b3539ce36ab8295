package main

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podsem/podsem/framework/profiles"
)

// profileDir is where the plugin container finds a profile file given to the
// harness: the pod cannot read the caller's files, so the file travels in a
// ConfigMap mounted there.
const profileDir = "/etc/podsem/profile"

// judging is how the plugin's run is judged, set over the plugin's own args so
// that the in-cluster run is judged like the caller's runs outside.
type judging struct {
	runtimeClass string
	profile      string // a profile name, or a YAML file
	claim        string // Optional IDs, comma-separated
}

// profileFile says whether profile names a YAML file rather than an embedded profile.
func profileFile(profile string) bool {
	return strings.ContainsRune(profile, '/') || strings.HasSuffix(profile, ".yaml")
}

// apply sets --runtime-class, --profile and --claim in the plugin's args, as
// given. A profile file comes back as the ConfigMap to create (named name, in
// namespace), which the returned volume and mount put at profileDir.
func (j judging) apply(p *Plugin, namespace, name string) (*corev1.ConfigMap, *corev1.Volume, *corev1.VolumeMount, error) {
	args := p.Spec.Args
	if j.runtimeClass != "" {
		args = setFlag(args, "--runtime-class", j.runtimeClass)
	}
	if j.claim != "" {
		for _, id := range strings.Split(j.claim, ",") {
			if err := profiles.CheckClaim(strings.TrimSpace(id)); err != nil {
				return nil, nil, nil, usageError{fmt.Errorf("--claim: %v", err)}
			}
		}
		args = setFlag(args, "--claim", j.claim)
	}
	var cm *corev1.ConfigMap
	var vol *corev1.Volume
	var mount *corev1.VolumeMount
	if j.profile != "" {
		if _, err := profiles.Load(j.profile); err != nil {
			return nil, nil, nil, usageError{fmt.Errorf("--profile: %v", err)}
		}
		value := j.profile
		if profileFile(j.profile) {
			raw, err := os.ReadFile(j.profile)
			if err != nil {
				return nil, nil, nil, usageError{fmt.Errorf("--profile: %v", err)}
			}
			key := filepath.Base(j.profile)
			if !strings.HasSuffix(key, ".yaml") {
				key += ".yaml"
			}
			cm = &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace,
					Labels: map[string]string{"app.kubernetes.io/name": "podsem-incluster"}},
				Data: map[string]string{key: string(raw)},
			}
			vol = &corev1.Volume{Name: "podsem-profile", VolumeSource: corev1.VolumeSource{
				ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}},
			}}
			mount = &corev1.VolumeMount{Name: vol.Name, MountPath: profileDir, ReadOnly: true}
			value = path.Join(profileDir, key)
		}
		args = setFlag(args, "--profile", value)
	}
	p.Spec.Args = args
	return cm, vol, mount, nil
}

// setFlag sets flag name to value in args, "--name VALUE" or "--name=VALUE"
// where it is, or appends it.
func setFlag(args []string, name, value string) []string {
	out := append([]string(nil), args...)
	for i, a := range out {
		if a == name && i+1 < len(out) {
			out[i+1] = value
			return out
		}
		if strings.HasPrefix(a, name+"=") {
			out[i] = name + "=" + value
			return out
		}
	}
	return append(out, name, value)
}
