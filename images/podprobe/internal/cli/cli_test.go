package cli

import (
	"bytes"
	"errors"
	"strings"
	"syscall"
	"testing"
)

func TestEncodeResultAddsErrorFields(t *testing.T) {
	for _, tc := range []struct {
		result any
		err    error
		want   string
	}{
		{map[string]int{"a": 1}, nil, `{"a":1}`},
		{map[string]string{"path": "<x>"}, nil, `{"path":"<x>"}`},
		{map[string]int{"a": 1}, syscall.ENOENT, `{"a":1,"error":"no such file or directory","errno":"ENOENT"}`},
		{nil, errors.New("plain"), `{"error":"plain","errno":""}`},
		{struct{}{}, Fail("ETIMEDOUT", errors.New("i/o timeout")), `{"error":"i/o timeout","errno":"ETIMEDOUT"}`},
	} {
		got, err := encodeResult(tc.result, tc.err)
		if err != nil || string(got) != tc.want+"\n" {
			t.Errorf("encodeResult(%v, %v) = %q, %v; want %q", tc.result, tc.err, got, err, tc.want)
		}
	}
}

func TestParseFlagsAnywhere(t *testing.T) {
	cmd := &Command{Name: "x", Args: []string{"A", "B"}, Flags: []Flag{
		{Name: "wait", Kind: DurationFlag, Default: "5s"},
		{Name: "hold", Kind: BoolFlag},
		{Name: "addr", Kind: StringFlag, Default: "0.0.0.0"},
	}}
	inv, help, err := parse(cmd, []string{"--hold", "a", "--addr=1.2.3.4", "-5", "--wait", "1s"})
	if err != nil || help {
		t.Fatal(err, help)
	}
	if strings.Join(inv.Args, ",") != "a,-5" || !inv.Bool("hold") || inv.String("addr") != "1.2.3.4" || inv.Duration("wait").String() != "1s" {
		t.Fatalf("parsed %+v %v", inv.Args, inv.values)
	}
	if _, _, err := parse(cmd, []string{"a", "--", "--hold"}); err != nil {
		t.Fatalf("-- should end the flags: %v", err)
	}
	for _, bad := range [][]string{{"a"}, {"a", "b", "c"}, {"a", "b", "--wait", "x"}, {"a", "b", "--nope"}, {"a", "b", "--addr"}} {
		var usage *UsageError
		if _, _, err := parse(cmd, bad); !errors.As(err, &usage) {
			t.Errorf("parse(%q) = %v, want a usage error", bad, err)
		}
	}
}

func TestParseIPCKey(t *testing.T) {
	for in, want := range map[string]int64{"1234": 1234, "0x1f": 31, "0XFF": 255, "0xdeadbeef": 0xdeadbeef, "-7": -7, "010": 10} {
		got, _, err := ParseIPCKey(in)
		if err != nil || got != want {
			t.Errorf("ParseIPCKey(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, key, _ := ParseIPCKey("0xdeadbeef"); uint32(key) != 0xdeadbeef {
		t.Errorf("key_t of 0xdeadbeef = %#x", key)
	}
	for _, in := range []string{"", "0", "0x", "abc", "0x1ffffffff", "1.5"} {
		if _, _, err := ParseIPCKey(in); err == nil {
			t.Errorf("ParseIPCKey(%q) accepted", in)
		}
	}
}

func TestMainExitCodes(t *testing.T) {
	ok := &Command{Name: "ok", Run: func(*Invocation) (any, error) { return map[string]bool{"ok": true}, nil }}
	failing := &Command{Name: "fail", Run: func(*Invocation) (any, error) { return map[string]bool{"ok": false}, syscall.EPERM }}
	commands := Register(ok, failing)
	for _, tc := range []struct {
		args                 []string
		code                 int
		stdout, stderrPrefix string
	}{
		{[]string{"ok"}, 0, `{"ok":true}` + "\n", ""},
		{[]string{"fail"}, 1, `{"ok":false,"error":"operation not permitted","errno":"EPERM"}` + "\n", ""},
		{[]string{"ok", "extra"}, 2, "", "podprobe: ok: want 0 argument(s)"},
		{[]string{"nope"}, 2, "", "podprobe: unknown subcommand"},
	} {
		var stdout, stderr bytes.Buffer
		code := Main(commands, tc.args, &stdout, &stderr)
		if code != tc.code || stdout.String() != tc.stdout || !strings.HasPrefix(stderr.String(), tc.stderrPrefix) {
			t.Errorf("%v: exit %d stdout %q stderr %q", tc.args, code, stdout.String(), stderr.String())
		}
	}
}
