// Package background starts a podprobe subcommand that outlives the exec
// session that started it (a holder of a namespace or an IPC object), and
// hands back what it printed first: its result, or its failure.
package background

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/podsem/podsem/images/podprobe/internal/cli"
)

// StartTimeout bounds how long Start waits for the first line.
const StartTimeout = 5 * time.Second

// Start runs podprobe with args in a session of its own, its stdout a pipe
// that carries its first line (stderr discarded), so the exec session that
// runs the caller need not wait for it. It decodes that line into result, a
// pointer; a line that reports an error ("error", "errno") is the holder's
// failure, returned as such after reaping it.
func Start(result any, args ...string) error {
	self, err := os.Executable()
	if err != nil {
		self = "/proc/self/exe"
	}
	cmd := exec.Command(self, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	first := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		first <- line
	}()
	var line string
	select {
	case line = <-first:
	case <-time.After(StartTimeout):
		cmd.Process.Kill()
		return cli.Fail("ETIMEDOUT", fmt.Errorf("the holder printed nothing within %s", StartTimeout))
	}
	var failure struct {
		Error string `json:"error"`
		Errno string `json:"errno"`
	}
	if err := json.Unmarshal([]byte(line), &failure); err != nil {
		cmd.Process.Kill()
		return fmt.Errorf("the holder's first line %q: %v", line, err)
	}
	if err := json.Unmarshal([]byte(line), result); err != nil {
		cmd.Process.Kill()
		return fmt.Errorf("the holder's first line %q: %v", line, err)
	}
	if failure.Error != "" {
		cmd.Wait() // it has failed and exits: reap it
		return cli.Fail(failure.Errno, errors.New(failure.Error))
	}
	return nil
}
