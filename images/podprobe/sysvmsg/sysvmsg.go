// Package sysvmsg implements `podprobe sysv-msg`: System V message queues,
// which are scoped by the IPC namespace. Only create makes a queue, so send and
// recv on a key that another IPC namespace created fail with ENOENT.
package sysvmsg

import (
	"encoding/binary"
	"unsafe"

	"github.com/podsem/podsem/images/podprobe/internal/cli"
	"golang.org/x/sys/unix"
)

var Command = &cli.Command{
	Name: "sysv-msg",
	Modes: []*cli.Command{
		{Name: "create", Args: []string{"KEY"}, Summary: "msgget(KEY, IPC_CREAT|0666) → {\"key\",\"id\"}", Run: create},
		{Name: "send", Args: []string{"KEY", "PAYLOAD"}, Summary: "send PAYLOAD (mtype 1) to an existing queue (ENOENT if none; --create makes it) → {\"key\",\"id\",\"sent\"}", Run: send,
			Flags: []cli.Flag{{Name: "create", Kind: cli.BoolFlag, Usage: "create the queue (IPC_CREAT|0666) when there is none, so one process can leave a message behind"}}},
		{Name: "recv", Args: []string{"KEY"}, Summary: "receive one message without waiting (ENOMSG if empty) → {\"key\",\"id\",\"received\"}", Run: recv},
		{Name: "remove", Args: []string{"KEY"}, Summary: "remove the queue (IPC_RMID) → {\"key\",\"id\",\"removed\"}", Run: remove},
	},
}

// Result is the JSON object of every sysv-msg mode.
type Result struct {
	Key      int64   `json:"key"`
	ID       *int    `json:"id,omitempty"`
	Sent     *string `json:"sent,omitempty"`
	Received *string `json:"received,omitempty"`
	Removed  *bool   `json:"removed,omitempty"`
}

const (
	mtype = 1
	// msgNoError truncates an oversized message instead of failing with E2BIG.
	msgNoError = 0o10000
	// maxMessage is far above the default MSGMAX (8192).
	maxMessage = 1 << 20
	// longSize is sizeof(long), the size of the mtype that heads a message.
	longSize = int(unsafe.Sizeof(uintptr(0)))
)

// open parses KEY and finds (or with IPC_CREAT, makes) its queue.
func open(inv *cli.Invocation, flags int) (*Result, int32, error) {
	value, key, err := cli.ParseIPCKey(inv.Args[0])
	if err != nil {
		return nil, 0, err
	}
	res := &Result{Key: value}
	id, err := msgget(key, flags)
	if err != nil {
		return res, key, err
	}
	res.ID = &id
	return res, key, nil
}

func create(inv *cli.Invocation) (any, error) {
	res, _, err := open(inv, unix.IPC_CREAT|0o666)
	return res, err
}

func send(inv *cli.Invocation) (any, error) {
	flags := 0
	if inv.Bool("create") {
		flags = unix.IPC_CREAT | 0o666
	}
	res, _, err := open(inv, flags)
	if err != nil {
		return res, err
	}
	payload := inv.Args[1]
	buf := make([]byte, longSize+len(payload))
	if longSize == 8 {
		binary.NativeEndian.PutUint64(buf, mtype)
	} else {
		binary.NativeEndian.PutUint32(buf, mtype)
	}
	copy(buf[longSize:], payload)
	// IPC_NOWAIT: a full queue is EAGAIN rather than a hang.
	_, _, errno := unix.Syscall6(unix.SYS_MSGSND, uintptr(*res.ID), uintptr(unsafe.Pointer(&buf[0])),
		uintptr(len(payload)), unix.IPC_NOWAIT, 0, 0)
	if errno != 0 {
		return res, errno
	}
	res.Sent = &payload
	return res, nil
}

func recv(inv *cli.Invocation) (any, error) {
	res, _, err := open(inv, 0)
	if err != nil {
		return res, err
	}
	buf := make([]byte, longSize+maxMessage)
	n, _, errno := unix.Syscall6(unix.SYS_MSGRCV, uintptr(*res.ID), uintptr(unsafe.Pointer(&buf[0])),
		maxMessage, 0, unix.IPC_NOWAIT|msgNoError, 0)
	if errno != 0 {
		return res, errno
	}
	received := string(buf[longSize : longSize+int(n)])
	res.Received = &received
	return res, nil
}

func remove(inv *cli.Invocation) (any, error) {
	res, _, err := open(inv, 0)
	if err != nil {
		return res, err
	}
	if _, _, errno := unix.Syscall(unix.SYS_MSGCTL, uintptr(*res.ID), unix.IPC_RMID, 0); errno != 0 {
		return res, errno
	}
	removed := true
	res.Removed = &removed
	return res, nil
}

func msgget(key int32, flags int) (int, error) {
	id, _, errno := unix.Syscall(unix.SYS_MSGGET, uintptr(key), uintptr(flags), 0)
	if errno != 0 {
		return 0, errno
	}
	return int(id), nil
}
