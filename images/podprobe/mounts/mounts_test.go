package mounts

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	info := `22 27 0:21 / /proc rw,relatime - proc proc rw
36 35 98:0 /vol /mnt/my\040dir ro,noatime master:1 shared:2 - ext4 /dev/sda1 rw,errors=continue
40 27 0:30 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
`
	list, err := Parse(strings.NewReader(info))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("parsed %d mounts", len(list))
	}
	m := list[1]
	if m.Target != "/mnt/my dir" || m.Source != "/dev/sda1" || m.FSType != "ext4" || m.Options != "ro,noatime" || !m.ReadOnly || m.Root != "/vol" {
		t.Fatalf("parsed %+v", m)
	}
	if list[0].ReadOnly || list[2].SuperOptions != "rw,memory" {
		t.Fatalf("parsed %+v", list)
	}
	if _, err := Parse(strings.NewReader("1 2 3 / /x rw\n")); err == nil {
		t.Fatal("accepted a line without the separator")
	}
}
