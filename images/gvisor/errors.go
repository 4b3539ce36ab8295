package gvisor

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
)

// notRunning is the phrase containerd's runc shim takes, after a failed kill,
// for "the process has already exited" (and then reports success).
const notRunning = "container not running"

// MapKillError rewrites runsc kill's failure output when it means the target
// has already exited: runsc says "sandbox is not running", refuses a state, or
// (after a failed start) "container ... not started".
func MapKillError(out string) (string, bool) {
	lower := strings.ToLower(out)
	for _, s := range []string{"sandbox is not running", "in state stopped", "container is not running",
		"process is not running", "not started"} {
		if strings.Contains(lower, s) {
			return notRunning + ": " + strings.TrimSpace(out), true
		}
	}
	return out, false
}

// IgnorableDeleteError reports whether runsc delete failed only because a
// filestore file it removes was already gone: the container is deleted.
func IgnorableDeleteError(out string) bool {
	return strings.Contains(out, "failed to delete filestore file") &&
		strings.Contains(strings.ToLower(out), "no such file or directory")
}

// IsTerminating reports whether a runc kill signal argument (a number or a
// name, with or without SIG) is SIGKILL or SIGTERM: the signals runsc honours
// for a created, not yet started container by destroying it.
func IsTerminating(sig string) bool {
	switch strings.TrimPrefix(strings.ToUpper(sig), "SIG") {
	case "", "9", "15", "KILL", "TERM":
		return true
	}
	return false
}

// SignalNumber converts a runc kill signal argument to SIGKILL (9) or SIGTERM
// (15); other signals give 0.
func SignalNumber(sig string) int {
	switch strings.TrimPrefix(strings.ToUpper(sig), "SIG") {
	case "9", "KILL":
		return 9
	case "", "15", "TERM":
		return 15
	}
	return 0
}

// LastLogError returns the message of the last error entry in a runc-style
// JSON log file (runsc --log-format=json writes its errors there too).
func LastLogError(file string) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	var last string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		var e struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Level == "error" && e.Msg != "" {
			last = e.Msg
		}
	}
	return last
}
