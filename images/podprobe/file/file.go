// Package file implements `podprobe file`: write, read and stat one file, to
// see what a volume or an image layer shows to this container.
package file

import (
	"errors"
	"io/fs"
	"os"
	"syscall"

	"github.com/podsem/podsem/images/podprobe/internal/cli"
)

var Command = &cli.Command{
	Name: "file",
	Modes: []*cli.Command{
		{Name: "write", Args: []string{"PATH", "CONTENT"}, Summary: "create or truncate PATH (mode 0644; a missing directory is an error) → {\"path\",\"written\"}", Run: write},
		{Name: "append", Args: []string{"PATH", "LINE"}, Summary: "append LINE and a newline to PATH, creating it (mode 0644): a record of every run → {\"path\",\"written\"}", Run: appendLine},
		{Name: "read", Args: []string{"PATH"}, Summary: "read PATH (ENOENT if absent) → {\"path\",\"content\"}", Run: read},
		{Name: "stat", Args: []string{"PATH"}, Summary: "stat PATH → {\"path\",\"exists\",\"size\",\"mode\",\"inode\",\"dev\",\"uid\",\"gid\"}; a missing file is {\"exists\":false}, exit 0", Run: stat},
	},
}

type writeResult struct {
	Path    string `json:"path"`
	Written string `json:"written"`
}

type readResult struct {
	Path    string `json:"path"`
	Content string `json:"content"`
}

type statResult struct {
	Path   string  `json:"path"`
	Exists bool    `json:"exists"`
	Size   *int64  `json:"size,omitempty"`
	Mode   *string `json:"mode,omitempty"`
	Inode  *uint64 `json:"inode,omitempty"`
	Dev    *uint64 `json:"dev,omitempty"`
	// UID and GID are the owner as this process' user namespace maps it
	// (65534, the overflow id, when unmapped).
	UID *uint32 `json:"uid,omitempty"`
	GID *uint32 `json:"gid,omitempty"`
}

func write(inv *cli.Invocation) (any, error) {
	path, content := inv.Args[0], inv.Args[1]
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		return struct {
			Path string `json:"path"`
		}{path}, err
	}
	return writeResult{Path: path, Written: content}, nil
}

func appendLine(inv *cli.Invocation) (any, error) {
	path, line := inv.Args[0], inv.Args[1]
	failed := struct {
		Path string `json:"path"`
	}{path}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return failed, err
	}
	if _, err := f.WriteString(line + "\n"); err != nil {
		f.Close()
		return failed, err
	}
	if err := f.Close(); err != nil {
		return failed, err
	}
	return writeResult{Path: path, Written: line}, nil
}

func read(inv *cli.Invocation) (any, error) {
	path := inv.Args[0]
	data, err := os.ReadFile(path)
	if err != nil {
		return struct {
			Path string `json:"path"`
		}{path}, err
	}
	return readResult{Path: path, Content: string(data)}, nil
}

func stat(inv *cli.Invocation) (any, error) {
	path := inv.Args[0]
	res := &statResult{Path: path}
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return res, nil
	}
	if err != nil {
		return res, err
	}
	res.Exists = true
	size, mode := info.Size(), lsMode(info.Mode())
	res.Size, res.Mode = &size, &mode
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		inode, dev := st.Ino, uint64(st.Dev)
		res.Inode, res.Dev = &inode, &dev
		uid, gid := st.Uid, st.Gid
		res.UID, res.GID = &uid, &gid
	}
	return res, nil
}

// lsMode renders a mode the way ls -l does ("drwxrwxrwt" for /tmp), not the
// way fs.FileMode.String does ("dtrwxrwxrwx").
func lsMode(m fs.FileMode) string {
	b := []byte("-rwxrwxrwx")
	switch {
	case m.IsDir():
		b[0] = 'd'
	case m&fs.ModeSymlink != 0:
		b[0] = 'l'
	case m&fs.ModeNamedPipe != 0:
		b[0] = 'p'
	case m&fs.ModeSocket != 0:
		b[0] = 's'
	case m&fs.ModeCharDevice != 0:
		b[0] = 'c'
	case m&fs.ModeDevice != 0:
		b[0] = 'b'
	}
	for i := 0; i < 9; i++ {
		if m&(1<<(8-i)) == 0 {
			b[i+1] = '-'
		}
	}
	special := func(set bool, at int, lower, upper byte) {
		if set {
			if b[at] == '-' {
				b[at] = upper
			} else {
				b[at] = lower
			}
		}
	}
	special(m&fs.ModeSetuid != 0, 3, 's', 'S')
	special(m&fs.ModeSetgid != 0, 6, 's', 'S')
	special(m&fs.ModeSticky != 0, 9, 't', 'T')
	return string(b)
}
