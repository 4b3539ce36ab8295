package gvisor

import (
	"reflect"
	"strings"
	"testing"
)

// The command lines containerd v2's runc shim (go-runc) issues, as the wrapper sees them.
const (
	shimGlobal = "--root /run/containerd/runc/k8s.io --log /b/log.json --log-format json --systemd-cgroup "
	wantGlobal = "--root=/run/runsc/k8s.io --log=/b/log.json --log-format=json --platform=systrap --overlay2=none "
)

func TestRunscArgs(t *testing.T) {
	for _, tc := range []struct {
		name, argv, want string
		skip             []string
	}{
		{name: "create", argv: shimGlobal + "create --bundle /b --pid-file /b/init.pid abc",
			want: wantGlobal + "create --bundle=/b --pid-file=/b/init.pid abc"},
		{name: "create with runc-only options", argv: shimGlobal + "create --bundle /b --pid-file /b/init.pid --no-pivot --no-new-keyring --console-socket /tmp/s abc",
			want: wantGlobal + "create --bundle=/b --pid-file=/b/init.pid --console-socket=/tmp/s abc"},
		{name: "create of an app container: the wrapper writes the pid file", argv: shimGlobal + "create --bundle /b --pid-file /b/init.pid abc",
			skip: []string{"pid-file"}, want: wantGlobal + "create --bundle=/b abc"},
		{name: "start", argv: shimGlobal + "start abc", want: wantGlobal + "start abc"},
		{name: "kill", argv: shimGlobal + "kill abc 15", want: wantGlobal + "kill abc 15"},
		{name: "kill all", argv: shimGlobal + "kill --all abc 9", want: wantGlobal + "kill --all abc 9"},
		{name: "delete", argv: shimGlobal + "delete abc", want: wantGlobal + "delete abc"},
		{name: "delete force", argv: shimGlobal + "delete --force abc", want: wantGlobal + "delete --force abc"},
		{name: "state", argv: shimGlobal + "state abc", want: wantGlobal + "state abc"},
		{name: "exec", argv: shimGlobal + "exec --process /tmp/p.json --detach --pid-file /b/x.pid abc",
			want: wantGlobal + "exec --process=/tmp/p.json --detach --pid-file=/b/x.pid abc"},
		{name: "ps", argv: shimGlobal + "ps --format json abc", want: wantGlobal + "ps --format=json abc"},
		{name: "events", argv: shimGlobal + "events --interval=5s abc", want: wantGlobal + "events --interval=5s abc"},
		{name: "update", argv: shimGlobal + "update --resources=- abc", want: wantGlobal + "update --resources=- abc"},
		{name: "debug and short aliases", argv: "--debug --root=/r/ns2 delete -f abc",
			want: "--root=/run/runsc/ns2 --debug --platform=systrap --overlay2=none delete --force abc"},
		{name: "rootless dropped", argv: "--root /r/k8s.io --rootless=false state abc",
			want: "--root=/run/runsc/k8s.io --platform=systrap --overlay2=none state abc"},
		{name: "no root", argv: "state abc", want: "--root=/run/runsc/default --platform=systrap --overlay2=none state abc"},
	} {
		call, err := ParseCall(strings.Fields(tc.argv))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		got := append(DefaultSettings.GlobalArgs(call), call.CommandArgs(tc.skip...)...)
		if want := strings.Fields(tc.want); !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, want)
		}
	}
}

func TestParseCall(t *testing.T) {
	call, err := ParseCall(strings.Fields(shimGlobal + "create --bundle /b --pid-file /b/init.pid abc"))
	if err != nil {
		t.Fatal(err)
	}
	if call.Command != "create" || call.ID() != "abc" || call.Bundle("/cwd") != "/b" {
		t.Errorf("command %q id %q bundle %q", call.Command, call.ID(), call.Bundle("/cwd"))
	}
	if v, ok := call.Lookup("pid-file"); !ok || v != "/b/init.pid" {
		t.Errorf("pid-file = %q, %v", v, ok)
	}
	if v, ok := call.LookupGlobal("systemd-cgroup"); !ok || v != "true" {
		t.Errorf("systemd-cgroup = %q, %v", v, ok)
	}
	if v, _ := call.LookupGlobal("log-format"); v != "json" {
		t.Errorf("log-format = %q", v)
	}

	// Without --bundle the bundle is the working directory; a relative one is under it.
	call, _ = ParseCall([]string{"create", "abc"})
	if b := call.Bundle("/cwd"); b != "/cwd" {
		t.Errorf("default bundle %q", b)
	}
	call, _ = ParseCall([]string{"create", "-b", "rel", "abc"})
	if b := call.Bundle("/cwd"); b != "/cwd/rel" {
		t.Errorf("relative bundle %q", b)
	}

	call, _ = ParseCall([]string{"kill", "abc", "SIGKILL"})
	if call.ID() != "abc" || !reflect.DeepEqual(call.Args, []string{"abc", "SIGKILL"}) {
		t.Errorf("kill args %q", call.Args)
	}
	call, _ = ParseCall([]string{"--version"})
	if call.Command != "" {
		t.Errorf("--version parsed as command %q", call.Command)
	}
	if _, err := ParseCall([]string{"--root"}); err == nil {
		t.Error("a missing option value gave no error")
	}
	if call, _ := ParseCall([]string{"--root", "/r", "exec", "--", "abc", "ls", "-l"}); !reflect.DeepEqual(call.Args, []string{"abc", "ls", "-l"}) {
		t.Errorf("args after --: %q", call.Args)
	}
}

func TestSettingsRoot(t *testing.T) {
	s := Settings{RunscRoot: "/run/x"}
	for argv, want := range map[string]string{
		"--root /run/containerd/runc/k8s.io state a": "/run/x/k8s.io",
		"--root /run/containerd/runc/moby/ state a":  "/run/x/moby",
		"--root / state a":                           "/run/x/default",
	} {
		call, _ := ParseCall(strings.Fields(argv))
		if got := s.Root(call); got != want {
			t.Errorf("%s: root %q, want %q", argv, got, want)
		}
	}
}
