// Package fstype implements `podprobe fs-type`: which filesystem backs a path
// (is this volume a tmpfs? is the root an overlay?), from statfs(2).
package fstype

import (
	"fmt"

	"github.com/podsem/podsem/images/podprobe/internal/cli"
	"golang.org/x/sys/unix"
)

var Command = &cli.Command{
	Name:    "fs-type",
	Args:    []string{"PATH"},
	Summary: "filesystem type of PATH by statfs magic → {\"path\",\"type\",\"magic\"}",
	Run:     run,
}

// names maps statfs f_type magic numbers (linux/magic.h) to filesystem names.
// ext2, ext3 and ext4 share one magic and are all reported as ext4.
var names = map[uint32]string{
	0x01021994: "tmpfs",
	0x794c7630: "overlay",
	0xef53:     "ext4",
	0x58465342: "xfs",
	0x9123683e: "btrfs",
	0x9fa0:     "proc",
	0x62656572: "sysfs",
	0x27e0eb:   "cgroup",
	0x63677270: "cgroup2",
	0x19800202: "mqueue",
	0x1cd1:     "devpts",
	0x6969:     "nfs",
	0x01021997: "9p",
	0x65735546: "fuse",
	0x73717368: "squashfs",
	0x858458f6: "ramfs",
	0x958458f6: "hugetlbfs",
	0x6e736673: "nsfs",
	0xcafe4a11: "bpf",
	0x64626720: "debugfs",
	0x74726163: "tracefs",
	0x73636673: "securityfs",
	0x2fc12fc1: "zfs",
	0xff534d42: "cifs",
	0xfe534d42: "smb2",
	0x4d44:     "vfat",
}

type result struct {
	Path  string `json:"path"`
	Type  string `json:"type"`
	Magic string `json:"magic"`
}

// Magic returns the statfs magic of the filesystem holding path.
func Magic(path string) (uint32, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, err
	}
	return uint32(st.Type), nil
}

// Name returns the name of a filesystem magic, or "unknown".
func Name(magic uint32) string {
	if name, ok := names[magic]; ok {
		return name
	}
	return "unknown"
}

func run(inv *cli.Invocation) (any, error) {
	path := inv.Args[0]
	magic, err := Magic(path)
	if err != nil {
		return struct {
			Path string `json:"path"`
		}{path}, err
	}
	return result{Path: path, Type: Name(magic), Magic: fmt.Sprintf("%#x", magic)}, nil
}
