package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/podsem/podsem/framework/catalogue"
	"github.com/podsem/podsem/framework/profiles"
)

// judging is how the plugin's run is judged and what it runs, set over the
// plugin's own args so that the run under sonobuoy is judged like the
// caller's runs outside the cluster.
type judging struct {
	runtimeClass string
	profile      string // a profile name, or a YAML file
	claim        string // Optional IDs, comma-separated
	focus        string // catalogue IDs, areas or levels, comma-separated: a partial run
	pullPolicy   string // of the fixture pods
}

// profileFile says whether profile names a YAML file rather than an embedded profile.
func profileFile(profile string) bool {
	return strings.ContainsRune(profile, '/') || strings.HasSuffix(profile, ".yaml")
}

// apply sets --runtime-class, --profile, --claim, --focus (and --partial) and
// --pull-policy in the plugin's args, as given. A profile file travels in the
// plugin's config-map, which sonobuoy mounts at configDir.
func (j judging) apply(p *Plugin) error {
	args := p.Spec.Args
	if j.runtimeClass != "" {
		args = setFlag(args, "--runtime-class", j.runtimeClass)
	}
	if j.claim != "" {
		for _, id := range strings.Split(j.claim, ",") {
			if err := profiles.CheckClaim(strings.TrimSpace(id)); err != nil {
				return usageError{fmt.Errorf("--claim: %v", err)}
			}
		}
		args = setFlag(args, "--claim", j.claim)
	}
	if j.focus != "" {
		if err := checkFocus(j.focus); err != nil {
			return err
		}
		// A focused run is partial, and says so; the launcher fails it otherwise.
		args = setFlag(args, "--focus", j.focus)
		if !hasFlag(args, "--partial") {
			args = append(args, "--partial")
		}
	}
	switch j.pullPolicy {
	case "":
	case "Never", "IfNotPresent", "Always":
		args = setFlag(args, "--pull-policy", j.pullPolicy)
	default:
		return usageError{fmt.Errorf("--pull-policy=%q: want Never, IfNotPresent or Always", j.pullPolicy)}
	}
	if j.profile != "" {
		if _, err := profiles.Load(j.profile); err != nil {
			return usageError{fmt.Errorf("--profile: %v", err)}
		}
		value := j.profile
		if profileFile(j.profile) {
			raw, err := os.ReadFile(j.profile)
			if err != nil {
				return usageError{fmt.Errorf("--profile: %v", err)}
			}
			key := filepath.Base(j.profile)
			if !strings.HasSuffix(key, ".yaml") {
				key += ".yaml"
			}
			if p.ConfigMap == nil {
				p.ConfigMap = map[string]string{}
			}
			p.ConfigMap[key] = string(raw)
			value = path.Join(configDir, key)
		}
		args = setFlag(args, "--profile", value)
	}
	p.Spec.Args = args
	return nil
}

// checkFocus refuses a focus term the catalogue does not know, as the launcher
// would, but before anything is deployed.
func checkFocus(focus string) error {
	known := map[string]bool{}
	for _, e := range catalogue.Entries {
		for _, l := range e.Labels() {
			known[l] = true
		}
	}
	for _, t := range strings.Split(focus, ",") {
		if !known[strings.TrimSpace(t)] {
			return usageError{fmt.Errorf("--focus: %q is not a catalogue ID, area or level", strings.TrimSpace(t))}
		}
	}
	return nil
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

// hasFlag says whether the boolean flag name is among args.
func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

// render is the plugin the kit ships, made to run as the RBAC file's
// ServiceAccount and judged as j says.
func render(pluginFile, version, rbacFile string, j judging) (*Plugin, *RBAC, error) {
	p, err := loadPlugin(pluginFile, version, true)
	if err != nil {
		return nil, nil, err
	}
	r, err := loadRBAC(rbacFile)
	if err != nil {
		return nil, nil, err
	}
	if p.PodSpec == nil || p.PodSpec.ServiceAccountName != r.ServiceAccount.Name {
		return nil, nil, usageError{fmt.Errorf("plugin %s: its commented podSpec does not run as ServiceAccount %s of %s", pluginFile, r.ServiceAccount.Name, rbacFile)}
	}
	if err := j.apply(p); err != nil {
		return nil, nil, err
	}
	return p, r, nil
}

// applyTimeout bounds applying the RBAC file, the wait for a namespace being
// deleted included.
const applyTimeout = namespaceGoneWait + 30*time.Second

func renderCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("plugin render", flag.ContinueOnError)
	var (
		pluginFile, rbacFile, out, version, kubeconfig string
		apply                                          bool
		j                                              judging
	)
	fs.StringVar(&pluginFile, "plugin", "", "the kit's sonobuoy plugin (sonobuoy/podsem.yaml)")
	fs.StringVar(&rbacFile, "rbac", "", "the kit's RBAC file (sonobuoy/rbac.yaml): the plugin runs as its ServiceAccount")
	fs.StringVar(&out, "out", "", "where to write the plugin to run")
	fs.StringVar(&version, "version", "", "replace the token "+versionToken+" in the plugin with this kit version (for docs/sonobuoy/podsem.yaml itself)")
	fs.StringVar(&kubeconfig, "kubeconfig", "", "an admin's kubeconfig, for --apply")
	fs.BoolVar(&apply, "apply", false, "apply the RBAC file to the cluster (server-side, as the file says)")
	fs.StringVar(&j.runtimeClass, "runtime-class", "", "set the plugin's --runtime-class")
	fs.StringVar(&j.profile, "profile", "", "add --profile: an embedded profile, or a YAML file (carried in the plugin's config-map)")
	fs.StringVar(&j.claim, "claim", "", "add --claim: Optional IDs, comma-separated, that must pass")
	fs.StringVar(&j.focus, "focus", "", "add --focus (and --partial): catalogue IDs, areas or levels, comma-separated")
	fs.StringVar(&j.pullPolicy, "pull-policy", "", "set the fixture pods' --pull-policy")
	if err := fs.Parse(args); err != nil {
		return usageError{fmt.Errorf("plugin render: bad flags")}
	}
	switch {
	case fs.NArg() > 0:
		return usageError{fmt.Errorf("plugin render: unexpected argument %q", fs.Arg(0))}
	case pluginFile == "" || rbacFile == "" || out == "":
		return usageError{fmt.Errorf("plugin render needs --plugin, --rbac and --out")}
	case apply && kubeconfig == "":
		return usageError{fmt.Errorf("plugin render --apply needs --kubeconfig")}
	}
	p, r, err := render(pluginFile, version, rbacFile, j)
	if err != nil {
		return err
	}
	data, err := yaml.Marshal(p)
	if err != nil {
		return err
	}
	if apply {
		client, err := clientFor(kubeconfig)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, applyTimeout)
		defer cancel()
		if err := applyRBAC(ctx, client, r); err != nil {
			return err
		}
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return err
	}
	logf("%s: the plugin %s as ServiceAccount %s/%s, image %s, args %s", out, p.SonobuoyConfig.PluginName,
		r.ServiceAccount.Namespace, r.ServiceAccount.Name, p.Spec.Image, strings.Join(p.Spec.Args, " "))
	// sonobuoy runs in the ServiceAccount's namespace: the caller's --namespace.
	fmt.Println(r.ServiceAccount.Namespace)
	return nil
}

// apiTimeout bounds each API request.
const apiTimeout = 10 * time.Second

// clientFor is a client of the cluster kubeconfig names, each request bounded
// by apiTimeout.
func clientFor(kubeconfig string) (kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, usageError{fmt.Errorf("kubeconfig %s: %v", kubeconfig, firstLine(err.Error()))}
	}
	cfg.Timeout = apiTimeout
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, usageError{fmt.Errorf("kubeconfig %s: %v", kubeconfig, err)}
	}
	return client, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
