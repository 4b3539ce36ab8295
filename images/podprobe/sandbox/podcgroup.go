package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/podsem/podsem/images/podprobe/cgroup"
	"github.com/podsem/podsem/images/podprobe/fstype"
	"github.com/podsem/podsem/images/podprobe/internal/cli"
)

// nodeCgroupRoot is the node's cgroup mount as a process in the node's PID
// namespace reaches it: through the root of the node's init. The helper's own
// /sys/fs/cgroup shows only its own cgroup.
const nodeCgroupRoot = "/proc/1/root/sys/fs/cgroup"

// maxCgroupDepth bounds the search for the pod's cgroup: the kubelet puts it
// a few levels down (kubepods/burstable/pod<UID>, under a cgroup root such as
// kind's /kubelet, or a container's when the node is one).
const maxCgroupDepth = 10

// cgroup2Magic is the statfs type of a cgroup v2 mount.
const cgroup2Magic = 0x63677270

// PodCgroup is the JSON object of `sandbox cgroup`: the pod's own cgroup, the
// parent of its containers', and the limits it carries.
type PodCgroup struct {
	PodUID string `json:"pod_uid"`
	Root   string `json:"root"`
	*cgroup.Result
	// Candidates are the directories whose name spells the pod's UID.
	Candidates []string `json:"candidates"`
}

func podCgroup(inv *cli.Invocation) (any, error) {
	uid := strings.ToLower(inv.Args[0])
	if !podUIDPattern.MatchString(uid) {
		return nil, cli.Usagef("sandbox cgroup: POD-UID must be a pod's UID (8-4-4-4-12 hex), got %q", inv.Args[0])
	}
	return LocatePodCgroup(inv.String("root"), uid)
}

// LocatePodCgroup finds, below root (a cgroup v2 mount, or the directory of the
// v1 hierarchies), the one directory whose name spells pod uid as either
// cgroup driver does (pod<UID>, kubepods-...-pod<UID_>.slice), and reads its
// limits: v2 from that directory, v1 from the memory and cpu hierarchies.
func LocatePodCgroup(root, uid string) (*PodCgroup, error) {
	res := &PodCgroup{PodUID: uid, Root: root, Result: &cgroup.Result{}, Candidates: []string{}}
	magic, err := fstype.Magic(root)
	if err != nil {
		return res, err
	}
	search := root
	if magic != cgroup2Magic {
		search = filepath.Join(root, "memory")
	}
	spellings := []string{"pod" + uid, "pod" + strings.ReplaceAll(uid, "-", "_")}
	res.Candidates = podDirs(search, spellings, 0)
	if len(res.Candidates) != 1 {
		return res, cli.Fail("ESRCH", fmt.Errorf("want exactly one cgroup of pod %s below %s, found %d: %v", uid, search, len(res.Candidates), res.Candidates))
	}
	rel, _ := filepath.Rel(search, res.Candidates[0])
	if magic == cgroup2Magic {
		res.Result, err = cgroup.ReadV2Dir(res.Candidates[0])
	} else {
		cpu := filepath.Join(root, "cpu", rel)
		if _, statErr := os.Stat(cpu); statErr != nil {
			cpu = ""
		}
		res.Result, err = cgroup.ReadV1Dirs(res.Candidates[0], cpu)
	}
	res.Result.Path = "/" + rel
	return res, err
}

// podDirs lists the directories below dir whose name contains one of
// spellings, not looking inside them (their children are the containers').
func podDirs(dir string, spellings []string, depth int) []string {
	if depth > maxCgroupDepth {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var found []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if nameSpells(e.Name(), spellings) {
			found = append(found, path)
			continue
		}
		found = append(found, podDirs(path, spellings, depth+1)...)
	}
	return found
}

func nameSpells(name string, spellings []string) bool {
	name = strings.ToLower(name)
	for _, s := range spellings {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}
