package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// suiteRelPath is where the kit (and the runner image) keep the suite binary,
// relative to podsem. Its name ends in .test: ginkgo runs it as a precompiled suite.
const suiteRelPath = "libexec/pod.test"

// suiteBinary finds the suite next to this executable.
func suiteBinary() (string, error) {
	suite, err := kitFile(suiteRelPath)
	if err != nil {
		return "", err
	}
	if st, err := os.Stat(suite); err != nil || st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%s is not executable: extract the kit again", suite)
	}
	return suite, nil
}

// runSuiteStep runs the suite binary for one of its single-purpose modes
// (preflight, clean) within limit, passing its lines through, and returns its
// exit status and its last line. The suite prints its own one-line error.
func runSuiteStep(stderr io.Writer, suite string, limit time.Duration, what string, args ...string) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, suite, args...)
	cmd.Dir = filepath.Dir(suite)
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintf(stderr, "[podsem] error: %s: %v\n", what, err)
		return 1, err.Error()
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "[podsem] error: %s: starting %s: %v\n", what, suite, err)
		return 1, err.Error()
	}
	last := copyFiltered(stderr, out)
	err = cmd.Wait()
	if ctx.Err() != nil {
		msg := fmt.Sprintf("%s did not finish within %s", what, limit)
		fmt.Fprintf(stderr, "[podsem] error: %s\n", msg)
		return 3, msg
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), last
	}
	if err != nil {
		fmt.Fprintf(stderr, "[podsem] error: %s: %v\n", what, err)
		return 1, err.Error()
	}
	return 0, last
}

// copyFiltered passes the suite's lines through, without the e2e framework's
// warning about the provider, which podsem always sets to skeleton on purpose,
// and returns the last line.
func copyFiltered(w io.Writer, r io.Reader) string {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	last := ""
	for sc.Scan() {
		if strings.Contains(sc.Text(), "provider flag") {
			continue
		}
		last = sc.Text()
		fmt.Fprintln(w, last)
	}
	return last
}

// flagGiven says whether the command line set the flag.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
