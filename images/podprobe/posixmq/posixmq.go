// Package posixmq implements `podprobe posix-mq`: POSIX message queues, scoped
// by the IPC namespace through its mqueue filesystem. The mq_* syscalls are
// called directly, as podprobe is built without cgo.
package posixmq

import (
	"strings"
	"unsafe"

	"github.com/podsem/podsem/images/podprobe/internal/cli"
	"golang.org/x/sys/unix"
)

var Command = &cli.Command{
	Name: "posix-mq",
	Modes: []*cli.Command{
		{Name: "create", Args: []string{"NAME"}, Summary: "mq_open(/NAME, O_CREAT, 0666) → {\"name\",\"created\"}", Run: create},
		{Name: "send", Args: []string{"NAME", "PAYLOAD"}, Summary: "send PAYLOAD to an existing queue (ENOENT if none, EAGAIN if full) → {\"name\",\"sent\"}", Run: send},
		{Name: "recv", Args: []string{"NAME"}, Summary: "receive one message without waiting (EAGAIN if empty) → {\"name\",\"received\"}", Run: recv},
		{Name: "remove", Args: []string{"NAME"}, Summary: "mq_unlink(/NAME) → {\"name\",\"removed\"}", Run: remove},
	},
}

// Result is the JSON object of every posix-mq mode.
type Result struct {
	Name     string  `json:"name"`
	Created  *bool   `json:"created,omitempty"`
	Sent     *string `json:"sent,omitempty"`
	Received *string `json:"received,omitempty"`
	Removed  *bool   `json:"removed,omitempty"`
}

// mqAttr is struct mq_attr: four longs and reserved space.
type mqAttr struct {
	Flags, MaxMsg, MsgSize, CurMsgs int
	_                               [4]int
}

// queueName returns the name for the syscalls (no leading slash: mq_open(3)
// strips it before calling the kernel) and for the output ("/NAME").
func queueName(arg string) (kernel, shown string, err error) {
	kernel = strings.TrimPrefix(arg, "/")
	if kernel == "" || strings.Contains(kernel, "/") {
		return "", "", cli.Usagef("posix-mq: NAME must be one path component like q1 or /q1, got %q", arg)
	}
	return kernel, "/" + kernel, nil
}

func mqOpen(name string, flags int, mode uint32) (int, error) {
	p, err := unix.BytePtrFromString(name)
	if err != nil {
		return -1, err
	}
	fd, _, errno := unix.Syscall6(unix.SYS_MQ_OPEN, uintptr(unsafe.Pointer(p)), uintptr(flags|unix.O_CLOEXEC), uintptr(mode), 0, 0, 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

func create(inv *cli.Invocation) (any, error) {
	name, shown, err := queueName(inv.Args[0])
	if err != nil {
		return nil, err
	}
	res := &Result{Name: shown}
	// The mode is filtered by the umask; clear it so other users (other
	// containers) can use the queue too.
	old := unix.Umask(0)
	fd, err := mqOpen(name, unix.O_RDWR|unix.O_CREAT, 0o666)
	unix.Umask(old)
	if err != nil {
		return res, err
	}
	unix.Close(fd)
	created := true
	res.Created = &created
	return res, nil
}

func send(inv *cli.Invocation) (any, error) {
	name, shown, err := queueName(inv.Args[0])
	if err != nil {
		return nil, err
	}
	res := &Result{Name: shown}
	fd, err := mqOpen(name, unix.O_WRONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return res, err
	}
	defer unix.Close(fd)
	payload := inv.Args[1]
	msg := append([]byte(payload), 0) // never a nil pointer, even for ""
	_, _, errno := unix.Syscall6(unix.SYS_MQ_TIMEDSEND, uintptr(fd), uintptr(unsafe.Pointer(&msg[0])), uintptr(len(payload)), 0, 0, 0)
	if errno != 0 {
		return res, errno
	}
	res.Sent = &payload
	return res, nil
}

func recv(inv *cli.Invocation) (any, error) {
	name, shown, err := queueName(inv.Args[0])
	if err != nil {
		return nil, err
	}
	res := &Result{Name: shown}
	fd, err := mqOpen(name, unix.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return res, err
	}
	defer unix.Close(fd)
	// The receive buffer must be at least the queue's message size.
	var attr mqAttr
	if _, _, errno := unix.Syscall(unix.SYS_MQ_GETSETATTR, uintptr(fd), 0, uintptr(unsafe.Pointer(&attr))); errno != 0 {
		return res, errno
	}
	buf := make([]byte, max(attr.MsgSize, 1))
	var prio uint32
	n, _, errno := unix.Syscall6(unix.SYS_MQ_TIMEDRECEIVE, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)),
		uintptr(unsafe.Pointer(&prio)), 0, 0)
	if errno != 0 {
		return res, errno
	}
	received := string(buf[:n])
	res.Received = &received
	return res, nil
}

func remove(inv *cli.Invocation) (any, error) {
	name, shown, err := queueName(inv.Args[0])
	if err != nil {
		return nil, err
	}
	res := &Result{Name: shown}
	p, err := unix.BytePtrFromString(name)
	if err != nil {
		return res, err
	}
	if _, _, errno := unix.Syscall(unix.SYS_MQ_UNLINK, uintptr(unsafe.Pointer(p)), 0, 0); errno != 0 {
		return res, errno
	}
	removed := true
	res.Removed = &removed
	return res, nil
}
