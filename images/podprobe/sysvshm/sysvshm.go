// Package sysvshm implements `podprobe sysv-shm`: a System V shared memory
// segment (scoped by the IPC namespace) holding one length-prefixed string.
package sysvshm

import (
	"encoding/binary"
	"fmt"

	"github.com/podsem/podsem/images/podprobe/internal/cli"
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
		{Name: "write", Args: []string{"KEY", "PAYLOAD"}, Summary: "shmget(KEY, 4096, IPC_CREAT|0666) and store PAYLOAD → {\"key\",\"id\",\"written\"}", Run: write},
		{Name: "read", Args: []string{"KEY"}, Summary: "read the stored payload of an existing segment (ENOENT if none) → {\"key\",\"id\",\"read\"}", Run: read},
		{Name: "remove", Args: []string{"KEY"}, Summary: "remove the segment (IPC_RMID) → {\"key\",\"id\",\"removed\"}", Run: remove},
	},
}

// Result is the JSON object of every sysv-shm mode.
type Result struct {
	Key     int64   `json:"key"`
	ID      *int    `json:"id,omitempty"`
	Written *string `json:"written,omitempty"`
	Read    *string `json:"read,omitempty"`
	Removed *bool   `json:"removed,omitempty"`
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
	res, err := get(inv, segmentSize, unix.IPC_CREAT|0o666)
	if err != nil {
		return res, err
	}
	mem, err := unix.SysvShmAttach(*res.ID, 0, 0)
	if err != nil {
		return res, err
	}
	defer unix.SysvShmDetach(mem)
	if len(mem) < headerSize+len(payload) {
		return res, fmt.Errorf("segment is %d bytes, too small for the payload", len(mem))
	}
	copy(mem[headerSize:], payload)
	binary.NativeEndian.PutUint32(mem, uint32(len(payload)))
	res.Written = &payload
	return res, nil
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
