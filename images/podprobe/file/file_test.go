package file

import (
	"io/fs"
	"testing"
)

func TestLSMode(t *testing.T) {
	for mode, want := range map[fs.FileMode]string{
		0o644:                                     "-rw-r--r--",
		fs.ModeDir | fs.ModeSticky | 0o777:        "drwxrwxrwt",
		fs.ModeDir | fs.ModeSticky | 0o770:        "drwxrwx--T",
		fs.ModeSetuid | 0o755:                     "-rwsr-xr-x",
		fs.ModeSetgid | 0o640:                     "-rw-r-S---",
		fs.ModeDevice | fs.ModeCharDevice | 0o666: "crw-rw-rw-",
		fs.ModeNamedPipe | 0o600:                  "prw-------",
	} {
		if got := lsMode(mode); got != want {
			t.Errorf("lsMode(%v) = %s, want %s", mode, got, want)
		}
	}
}
