package spec

import "testing"

func TestSelectedBy(t *testing.T) {
	for _, tc := range []struct {
		filter, id string
		want       bool
	}{
		{"", "FS-06", true},
		{"FS-06", "FS-06", true},
		{"NET-01 || FS-02", "FS-06", false}, // the kit's sample, in short
		{"filesystem", "FS-06", true},
		{"!Optional", "UTS-06", true},
		{"Optional", "UTS-06", false},
		{"(unparsable", "FS-06", true},
	} {
		if got := selectedBy(tc.filter, tc.id); got != tc.want {
			t.Errorf("selectedBy(%q, %s) = %v, want %v", tc.filter, tc.id, got, tc.want)
		}
	}
}
