package ps

import "testing"

func TestParseStatOddComm(t *testing.T) {
	// comm may contain spaces and parentheses; only the last ")" ends it.
	line := "42 (my (odd) prog) S 7 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 12345 1000 10 18446744073709551615\n"
	st, err := ParseStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if st.PID != 42 || st.Comm != "my (odd) prog" || st.State != "S" || st.PPID != 7 || st.StartTime != 12345 {
		t.Fatalf("parsed %+v", st)
	}
	for _, bad := range []string{"", "42 prog S 7", "42 (prog) S", "x (prog) S 7 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0"} {
		if _, err := ParseStat(bad); err == nil {
			t.Errorf("ParseStat(%q) accepted", bad)
		}
	}
}
