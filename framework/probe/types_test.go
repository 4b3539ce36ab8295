package probe

import "testing"

func TestHostIDMapsThroughAnyLineOfTheMap(t *testing.T) {
	for _, c := range []struct {
		idMap    string
		id, want uint64
		ok       bool
	}{
		{"         0     123456      65536\n", 0, 123456, true},
		{"0 0 65536", 0, 0, true}, // a map, and root is root: the spec must see 0
		{"0 1000 1\n1 100000 65535", 0, 1000, true},
		{"0 1000 1\n1 100000 65535", 5, 100004, true},
		{"1 100000 65535", 0, 0, false},
		{"", 0, 0, false},
	} {
		got, ok := HostID(c.idMap, c.id)
		if got != c.want || ok != c.ok {
			t.Errorf("HostID(%q, %d) = %d, %t; want %d, %t", c.idMap, c.id, got, ok, c.want, c.ok)
		}
	}
}
