package gvisor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Annotations read or written on a container's OCI spec.
const (
	// AnnotationCgroupParent makes runsc put the sandbox into this cgroup (the
	// pod's), rather than into the sandbox container's own.
	AnnotationCgroupParent = "dev.gvisor.spec.cgroup-parent"
	annotationType         = "io.kubernetes.cri.container-type"
	annotationSandboxID    = "io.kubernetes.cri.sandbox-id"
	annotationCRIOType     = "io.kubernetes.cri-o.ContainerType"
)

// SpecInfo is what the wrapper needs to know of a container's spec.
type SpecInfo struct {
	// Subcontainer is set for a pod's app containers, which runsc starts inside
	// the sandbox the pod's first (sandbox) container created.
	Subcontainer bool
	// SandboxID is the pod sandbox's container ID (CRI annotation), if any.
	SandboxID string
	// Cgroup is the container's cgroup as a cgroupfs path ("/a.slice/b.scope"),
	// after the rewrite; empty when the spec names none.
	Cgroup string
}

// RewriteSpec adapts config.json (raw) for runsc on a cgroup v1 node whose
// containerd asks for systemd cgroups. A cgroupsPath of the systemd form
// "slice:prefix:name" becomes the cgroupfs path systemd would give that unit
// (runsc manages systemd cgroups only on cgroup v2), and the pod's sandbox
// container gets AnnotationCgroupParent = its pod's cgroup, so the sandbox's
// processes are accounted to the pod as runc's would be.
//
// For app containers it also names PID namespaces as rw says (see Rewrite).
//
// Only those fields are edited; everything else is kept as written (numbers
// included). It returns the new content (nil when nothing changed).
func RewriteSpec(raw []byte, rw Rewrite) ([]byte, SpecInfo, error) {
	var spec map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&spec); err != nil {
		return nil, SpecInfo{}, fmt.Errorf("decoding config.json: %w", err)
	}
	annotations, _ := spec["annotations"].(map[string]any)
	str := func(k string) string { s, _ := annotations[k].(string); return s }
	info := SpecInfo{
		Subcontainer: str(annotationType) == "container" || str(annotationCRIOType) == "container",
		SandboxID:    str(annotationSandboxID),
	}
	changed := false

	linux, _ := spec["linux"].(map[string]any)
	if linux != nil {
		if p, _ := linux["cgroupsPath"].(string); p != "" {
			fsPath, systemd, err := CgroupfsPath(p)
			if err != nil {
				return nil, info, err
			}
			if systemd {
				linux["cgroupsPath"] = fsPath
				changed = true
			}
			info.Cgroup = fsPath
		}
	}

	if info.Subcontainer && linux != nil {
		if rewritePIDNamespace(linux, rw) {
			changed = true
		}
	}

	isSandbox := str(annotationType) == "sandbox" || str(annotationCRIOType) == "sandbox"
	if isSandbox && info.Cgroup != "" && str(AnnotationCgroupParent) == "" {
		if annotations == nil {
			annotations = map[string]any{}
			spec["annotations"] = annotations
		}
		annotations[AnnotationCgroupParent] = path.Dir(info.Cgroup)
		changed = true
	}

	if !changed {
		return nil, info, nil
	}
	out, err := json.Marshal(spec)
	if err != nil {
		return nil, info, err
	}
	return out, info, nil
}

// Rewrite says how RewriteSpec names an app container's PID namespace.
//
// runsc tells a sandbox's PID namespaces apart by the path the spec gives,
// compared as a string: a container joins the namespace of the container whose
// spec named the same path. containerd names a target container's namespace
// /proc/<its task PID>/ns/pid (an ephemeral container with targetContainerName);
// under this wrapper that PID is the target's holder, whose namespace is not the
// container's, and the target's own spec named no path at all.
type Rewrite struct {
	// PIDNamespace, when set, is given as the path of the container's own new
	// PID namespace (one the spec asks for without a path). It need not exist:
	// only the sentry reads it, as a name.
	PIDNamespace string
	// TargetPIDNamespace maps a path /proc/<pid>/ns/pid the spec asks to join to
	// the PIDNamespace given to the container whose holder is <pid>.
	TargetPIDNamespace func(pid int) (string, bool)
}

func rewritePIDNamespace(linux map[string]any, rw Rewrite) bool {
	namespaces, _ := linux["namespaces"].([]any)
	for _, n := range namespaces {
		ns, _ := n.(map[string]any)
		if t, _ := ns["type"].(string); t != "pid" {
			continue
		}
		p, _ := ns["path"].(string)
		if p == "" {
			if rw.PIDNamespace == "" {
				return false
			}
			ns["path"] = rw.PIDNamespace
			return true
		}
		var pid int
		if _, err := fmt.Sscanf(p, "/proc/%d/ns/pid", &pid); err != nil || p != fmt.Sprintf("/proc/%d/ns/pid", pid) || rw.TargetPIDNamespace == nil {
			return false
		}
		if name, ok := rw.TargetPIDNamespace(pid); ok {
			ns["path"] = name
			return true
		}
		return false
	}
	return false
}

// RewriteBundle applies RewriteSpec to <bundle>/config.json in place (atomically).
func RewriteBundle(bundle string, rw Rewrite) (SpecInfo, error) {
	file := filepath.Join(bundle, "config.json")
	raw, err := os.ReadFile(file)
	if err != nil {
		return SpecInfo{}, err
	}
	out, info, err := RewriteSpec(raw, rw)
	if err != nil || out == nil {
		return info, err
	}
	mode := os.FileMode(0o644)
	if st, err := os.Stat(file); err == nil {
		mode = st.Mode().Perm()
	}
	tmp := file + ".runsc-wrapper.tmp"
	if err := os.WriteFile(tmp, out, mode); err != nil {
		return info, err
	}
	if err := os.Rename(tmp, file); err != nil {
		os.Remove(tmp)
		return info, err
	}
	return info, nil
}

// CgroupfsPath returns the cgroupfs path for a spec's cgroupsPath. A path of
// the systemd form "slice:prefix:name" is converted as runc's systemd driver
// names it: the slice expanded to its hierarchy, and the unit "prefix-name.scope"
// (or name itself when it is a slice); systemd reports true then. Any other
// path is returned unchanged.
func CgroupfsPath(cgroupsPath string) (string, bool, error) {
	if strings.HasPrefix(cgroupsPath, "/") {
		return cgroupsPath, false, nil
	}
	parts := strings.Split(cgroupsPath, ":")
	if len(parts) != 3 {
		return cgroupsPath, false, nil
	}
	slice, prefix, name := parts[0], parts[1], parts[2]
	if slice == "" {
		slice = "system.slice"
	}
	dir, err := ExpandSlice(slice)
	if err != nil {
		return "", true, err
	}
	if name == "" {
		return "", true, fmt.Errorf("systemd cgroup path %q: no unit name", cgroupsPath)
	}
	unit := name
	if !strings.HasSuffix(name, ".slice") {
		unit = name + ".scope"
		if prefix != "" {
			unit = prefix + "-" + unit
		}
	}
	if strings.Contains(unit, "/") {
		return "", true, fmt.Errorf("systemd cgroup path %q: unit name contains /", cgroupsPath)
	}
	return path.Join(dir, unit), true, nil
}

// ExpandSlice turns a systemd slice name into its cgroup path: every dash
// starts a parent slice, "a-b-c.slice" → "/a.slice/a-b.slice/a-b-c.slice";
// "-.slice" is the root.
func ExpandSlice(slice string) (string, error) {
	const suffix = ".slice"
	if !strings.HasSuffix(slice, suffix) || len(slice) <= len(suffix) || strings.Contains(slice, "/") {
		return "", fmt.Errorf("invalid systemd slice name %q", slice)
	}
	if slice == "-.slice" {
		return "/", nil
	}
	name := strings.TrimSuffix(slice, suffix)
	if strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-") || strings.Contains(name, "--") {
		return "", fmt.Errorf("invalid systemd slice name %q", slice)
	}
	var b strings.Builder
	prefix := ""
	for _, part := range strings.Split(name, "-") {
		prefix += part
		b.WriteString("/" + prefix + suffix)
		prefix += "-"
	}
	return b.String(), nil
}
