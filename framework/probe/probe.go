// Package probe runs podprobe subcommands in a fixture container and decodes the
// one JSON object each prints. Every run is recorded as a Ginkgo report entry, so a
// report shows what each container said, not only a verdict.
package probe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/util/exec"
	e2eframework "k8s.io/kubernetes/test/e2e/framework"
	e2epod "k8s.io/kubernetes/test/e2e/framework/pod"

	"github.com/podsem/podsem/framework/timing"
)

// Binary is where podprobe sits in its image.
const Binary = "/podprobe"

// ExecTimeout bounds one podprobe exec: every subcommand answers in seconds
// (the longest waits are 5s), so one that has not answered by then hung.
const ExecTimeout = time.Minute

// Result is one podprobe run: its JSON output and exit code. Exit code 1 means the
// operation failed and the JSON says how (Error, Errno); that is an observation,
// not a test failure.
type Result struct {
	Container string          `json:"container"`
	Args      []string        `json:"args"`
	ExitCode  int             `json:"exit_code"`
	Output    json.RawMessage `json:"output"`
	Error     string          `json:"-"`
	Errno     string          `json:"-"`
}

// Run runs podprobe ARGS in container of pod, records the result as evidence and
// returns it. It fails the spec when podprobe cannot be run or answers with no
// JSON (a usage error, a missing binary): those are suite bugs, not observations.
func Run(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, container string, args ...string) Result {
	ginkgo.GinkgoHelper()
	return run(ctx, f, pod, container, false, args)
}

// RunEnding is Run for a podprobe that ends its own container (`signal 1
// SIGTERM`): the container may stop before podprobe has printed, or the exec
// stream may break, so no JSON is recorded as such instead of failing the
// spec. What happened to the container is for the caller to check.
func RunEnding(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, container string, args ...string) Result {
	ginkgo.GinkgoHelper()
	return run(ctx, f, pod, container, true, args)
}

func run(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, container string, ending bool, args []string) Result {
	ginkgo.GinkgoHelper()
	defer timing.Start(timing.Exec, container+": podprobe "+strings.Join(args, " "))()
	ctx, cancel := context.WithTimeout(ctx, ExecTimeout)
	defer cancel()
	stdout, stderr, err := e2epod.Exec(f.TContext(ctx), e2epod.ExecOptions{
		Command:       append([]string{Binary}, args...),
		Namespace:     pod.Namespace,
		PodName:       pod.Name,
		ContainerName: container,
		CaptureStdout: true,
		CaptureStderr: true,
		Quiet:         true,
	})
	r := Result{Container: container, Args: args}
	var exitErr exec.CodeExitError
	noJSON := !json.Valid([]byte(stdout)) || !strings.HasPrefix(strings.TrimSpace(stdout), "{")
	switch {
	case ending && (noJSON || (err != nil && !errors.As(err, &exitErr))):
		r.ExitCode = -1
		r.Output = json.RawMessage(`{}`)
		ginkgo.AddReportEntry(fmt.Sprintf("%s: podprobe %s", container, strings.Join(args, " ")),
			fmt.Sprintf("no result, the container ended: err %v, stdout %q, stderr %q", err, stdout, stderr), ginkgo.ReportEntryVisibilityFailureOrVerbose)
		return r
	case err == nil:
	case errors.As(err, &exitErr):
		r.ExitCode = exitErr.Code
	case ctx.Err() != nil:
		e2eframework.Failf("exec podprobe %s in %s/%s: no answer within %s (the exec hung): %v (stderr: %s)", strings.Join(args, " "), pod.Name, container, ExecTimeout, err, stderr)
	default:
		e2eframework.Failf("exec podprobe %s in %s/%s: %v (stderr: %s)", strings.Join(args, " "), pod.Name, container, err, stderr)
	}
	if noJSON {
		e2eframework.Failf("podprobe %s in %s/%s printed no JSON (exit %d): stdout %q, stderr %q",
			strings.Join(args, " "), pod.Name, container, r.ExitCode, stdout, stderr)
	}
	r.Output = json.RawMessage(stdout)
	var failure struct {
		Error string `json:"error"`
		Errno string `json:"errno"`
	}
	_ = json.Unmarshal(r.Output, &failure)
	r.Error, r.Errno = failure.Error, failure.Errno
	ginkgo.AddReportEntry(fmt.Sprintf("%s: podprobe %s", container, strings.Join(args, " ")), string(r.Output), ginkgo.ReportEntryVisibilityFailureOrVerbose)
	return r
}

// Decode decodes the output into v, failing the spec when it does not fit.
func (r Result) Decode(v any) {
	ginkgo.GinkgoHelper()
	if err := json.Unmarshal(r.Output, v); err != nil {
		e2eframework.Failf("decoding podprobe %s output %s: %v", strings.Join(r.Args, " "), r.Output, err)
	}
}

// OK reports whether the operation succeeded (exit 0).
func (r Result) OK() bool { return r.ExitCode == 0 }

// Describe is a one-line account of the result for assertion messages.
func (r Result) Describe() string {
	return fmt.Sprintf("podprobe %s in container %s: exit %d, %s", strings.Join(r.Args, " "), r.Container, r.ExitCode, r.Output)
}

// Into runs podprobe and decodes a successful result into v; a failed operation
// fails the spec with what podprobe said.
func Into(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, container string, v any, args ...string) Result {
	ginkgo.GinkgoHelper()
	r := Run(ctx, f, pod, container, args...)
	if !r.OK() {
		e2eframework.Failf("%s", r.Describe())
	}
	r.Decode(v)
	return r
}
