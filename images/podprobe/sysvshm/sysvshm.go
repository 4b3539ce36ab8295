// Package sysvshm implements `podprobe sysv-shm`: a System V shared memory
// segment (scoped by the IPC namespace) holding one length-prefixed string.
//
// `write` attaches, writes and detaches before it exits, leaving the segment
// with no attachment: it stays, unless the IPC namespace's
// kernel.shm_rmid_forced is 1, when the kernel destroys it. `write --hold`
// leaves a background process that keeps it attached until SIGTERM.
package sysvshm

import (
	"encoding/binary"
	"fmt"
	"os"
	"time"

	"github.com/podsem/podsem/images/podprobe/internal/background"
	"github.com/podsem/podsem/images/podprobe/internal/cli"
	"github.com/podsem/podsem/images/podprobe/internal/lifecycle"
	"golang.org/x/sys/unix"
)

const (
	segmentSize = 4096
	headerSize  = 4 // uint32 payload length, native byte order
	maxPayload  = segmentSize - headerSize
)

var Command = &cli.Command{
	Name: "sysv-shm",
	Modes: []*cli.Command{
		{Name: "write", Args: []string{"KEY", "PAYLOAD"}, Summary: "shmget(KEY, 4096, IPC_CREAT|0666) and store PAYLOAD, detached on exit → {\"key\",\"id\",\"written\"}; --hold: a background process keeps it attached (\"holder_pid\") until SIGTERM or DURATION",
			Flags: []cli.Flag{{Name: "hold", Kind: cli.DurationFlag, Default: "0", Value: "DURATION", Usage: "leave the segment attached by a background process (new session) for at most DURATION, or until it gets SIGTERM"}},
			Run:   write},
		{Name: "read", Args: []string{"KEY"}, Summary: "read the stored payload of an existing segment (ENOENT if none) → {\"key\",\"id\",\"read\"}", Run: read},
		{Name: "remove", Args: []string{"KEY"}, Summary: "remove the segment (IPC_RMID) → {\"key\",\"id\",\"removed\"}", Run: remove},
	},
}

// HolderCommand is the background process of `write --hold`: it writes the
// segment and stays attached; its first line is write's result.
var HolderCommand = &cli.Command{
	Name:    "sysv-shm-holder",
	Hidden:  true,
	Args:    []string{"KEY", "PAYLOAD"},
	Summary: "internal: write the segment, print one line, stay attached until SIGTERM or --for",
	Flags:   []cli.Flag{{Name: "for", Kind: cli.DurationFlag, Default: "1m", Value: "DURATION", Usage: "how long to stay attached at most"}},
	Run:     runHolder,
}

// Result is the JSON object of every sysv-shm mode.
type Result struct {
	Key     int64   `json:"key"`
	ID      *int    `json:"id,omitempty"`
	Written *string `json:"written,omitempty"`
	Read    *string `json:"read,omitempty"`
	Removed *bool   `json:"removed,omitempty"`
	// HolderPID is the process that keeps the segment attached (write --hold).
	HolderPID int `json:"holder_pid,omitempty"`
}

func get(inv *cli.Invocation, size, flags int) (*Result, error) {
	value, key, err := cli.ParseIPCKey(inv.Args[0])
	if err != nil {
		return nil, err
	}
	res := &Result{Key: value}
	id, err := unix.SysvShmGet(int(key), size, flags)
	if err != nil {
		return res, err
	}
	res.ID = &id
	return res, nil
}

func write(inv *cli.Invocation) (any, error) {
	payload := inv.Args[1]
	if len(payload) > maxPayload {
		return nil, cli.Usagef("sysv-shm write: payload is %d bytes, at most %d fit", len(payload), maxPayload)
	}
	if hold := inv.Duration("hold"); hold > 0 {
		return startHolder(inv.Args[0], payload, hold)
	}
	res, mem, err := attachAndWrite(inv, payload)
	if mem != nil {
		unix.SysvShmDetach(mem)
	}
	return res, err
}

// attachAndWrite creates (or opens) the segment, attaches it and stores
// payload; the caller detaches mem when it is not nil.
func attachAndWrite(inv *cli.Invocation, payload string) (*Result, []byte, error) {
	res, err := get(inv, segmentSize, unix.IPC_CREAT|0o666)
	if err != nil {
		return res, nil, err
	}
	mem, err := unix.SysvShmAttach(*res.ID, 0, 0)
	if err != nil {
		return res, nil, err
	}
	if len(mem) < headerSize+len(payload) {
		return res, mem, fmt.Errorf("segment is %d bytes, too small for the payload", len(mem))
	}
	copy(mem[headerSize:], payload)
	binary.NativeEndian.PutUint32(mem, uint32(len(payload)))
	res.Written = &payload
	return res, mem, nil
}

// startHolder starts HolderCommand in a session of its own, its stdout a pipe
// that carries its first line (stderr discarded): the exec session that runs
// write must not wait for the holder, which PID 1 reaps when it ends.
func startHolder(key, payload string, hold time.Duration) (any, error) {
	var held Result
	err := background.Start(&held, HolderCommand.Name, "--for", hold.String(), "--", key, payload)
	return held, err
}

func runHolder(inv *cli.Invocation) (any, error) {
	terminated := lifecycle.Terminated()
	res, mem, err := attachAndWrite(inv, inv.Args[1])
	if err != nil {
		return res, err
	}
	res.HolderPID = os.Getpid()
	// The first and only line: its reader, write --hold, exits after it.
	if err := inv.Emit(res, nil); err != nil {
		return nil, err
	}
	select {
	case <-terminated:
	case <-time.After(inv.Duration("for")):
	}
	unix.SysvShmDetach(mem)
	return nil, nil
}

func read(inv *cli.Invocation) (any, error) {
	res, err := get(inv, 0, 0)
	if err != nil {
		return res, err
	}
	mem, err := unix.SysvShmAttach(*res.ID, 0, unix.SHM_RDONLY)
	if err != nil {
		return res, err
	}
	defer unix.SysvShmDetach(mem)
	if len(mem) < headerSize {
		return res, fmt.Errorf("segment is %d bytes, too small for a podprobe payload", len(mem))
	}
	n := int(binary.NativeEndian.Uint32(mem))
	if n > len(mem)-headerSize {
		return res, fmt.Errorf("segment holds no podprobe payload (length %d)", n)
	}
	payload := string(mem[headerSize : headerSize+n])
	res.Read = &payload
	return res, nil
}

func remove(inv *cli.Invocation) (any, error) {
	res, err := get(inv, 0, 0)
	if err != nil {
		return res, err
	}
	if _, err := unix.SysvShmCtl(*res.ID, unix.IPC_RMID, nil); err != nil {
		return res, err
	}
	removed := true
	res.Removed = &removed
	return res, nil
}
