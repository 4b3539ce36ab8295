// Command podprobe is the fixture binary of podsem: one static binary whose
// subcommands each observe one piece of pod semantics (namespaces, IPC,
// networking, signals, reaping, cgroups) and report it as one JSON object.
// Run `podprobe help` for the list.
package main

import (
	"os"

	"github.com/podsem/podsem/images/podprobe/addrs"
	"github.com/podsem/podsem/images/podprobe/alloc"
	"github.com/podsem/podsem/images/podprobe/batch"
	"github.com/podsem/podsem/images/podprobe/bind"
	"github.com/podsem/podsem/images/podprobe/cgroup"
	"github.com/podsem/podsem/images/podprobe/dial"
	"github.com/podsem/podsem/images/podprobe/environ"
	"github.com/podsem/podsem/images/podprobe/file"
	"github.com/podsem/podsem/images/podprobe/fstype"
	"github.com/podsem/podsem/images/podprobe/hostname"
	"github.com/podsem/podsem/images/podprobe/internal/cli"
	"github.com/podsem/podsem/images/podprobe/mounts"
	"github.com/podsem/podsem/images/podprobe/ns"
	"github.com/podsem/podsem/images/podprobe/orphan"
	"github.com/podsem/podsem/images/podprobe/posixmq"
	"github.com/podsem/podsem/images/podprobe/ps"
	"github.com/podsem/podsem/images/podprobe/rawsocket"
	"github.com/podsem/podsem/images/podprobe/report"
	"github.com/podsem/podsem/images/podprobe/resolve"
	"github.com/podsem/podsem/images/podprobe/rootread"
	"github.com/podsem/podsem/images/podprobe/sandbox"
	"github.com/podsem/podsem/images/podprobe/sendsignal"
	"github.com/podsem/podsem/images/podprobe/serve"
	"github.com/podsem/podsem/images/podprobe/sleep"
	"github.com/podsem/podsem/images/podprobe/sysvmsg"
	"github.com/podsem/podsem/images/podprobe/sysvshm"
	"github.com/podsem/podsem/images/podprobe/waitsignal"
)

// commands is every subcommand, in the order `podprobe help` lists them.
var commands = cli.Register(
	sleep.Command,
	ns.Command,
	hostname.Command,
	addrs.Command,
	serve.Command,
	dial.Command,
	resolve.Command,
	bind.Command,
	rawsocket.Command,
	sysvmsg.Command,
	sysvshm.Command,
	sysvshm.HolderCommand,
	posixmq.Command,
	file.Command,
	fstype.Command,
	mounts.Command,
	ps.Command,
	sendsignal.Command,
	waitsignal.Command,
	rootread.Command,
	environ.Command,
	orphan.Command,
	orphan.ParentCommand,
	orphan.ChildCommand,
	cgroup.Command,
	alloc.Command,
	report.Command,
	sandbox.Command,
	sandbox.HolderCommand,
)

// batch runs the others, so it joins them once they are registered.
func init() { commands = append(commands, batch.Command(commands)) }

func main() {
	os.Exit(cli.Main(commands, os.Args[1:], os.Stdout, os.Stderr))
}
