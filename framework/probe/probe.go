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
	stdout, stderr, code, err := execute(ctx, f, pod, container, args)
	noJSON := !isObject(stdout)
	if ending && (noJSON || err != nil) {
		ginkgo.AddReportEntry(fmt.Sprintf("%s: podprobe %s", container, strings.Join(args, " ")),
			fmt.Sprintf("no result, the container ended: err %v, stdout %q, stderr %q", err, stdout, stderr), ginkgo.ReportEntryVisibilityFailureOrVerbose)
		return Result{Container: container, Args: args, ExitCode: -1, Output: json.RawMessage(`{}`)}
	}
	if err != nil {
		e2eframework.Failf("%v", err)
	}
	return record(pod, container, args, code, stdout, stderr)
}

// Batch runs several one-shot podprobe subcommands in container of pod through
// one exec (`podprobe batch`), one after another in one process, and records
// and returns each one's result as Run does: one exec instead of one per
// observation, the same evidence. For consecutive observations in one
// container only; a subcommand that serves or waits, or whose own process is
// looked at (ps, signals), is run alone.
func Batch(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, container string, calls ...[]string) []Result {
	ginkgo.GinkgoHelper()
	var span []string
	for _, c := range calls {
		span = append(span, strings.Join(c, " "))
	}
	defer timing.Start(timing.Exec, container+": podprobe batch: "+strings.Join(span, "; "))()
	encoded, err := json.Marshal(calls)
	e2eframework.ExpectNoError(err)
	stdout, stderr, code, err := execute(ctx, f, pod, container, []string{"batch", string(encoded)})
	if err != nil {
		e2eframework.Failf("%v", err)
	}
	var batch struct {
		Results []struct {
			Args     []string        `json:"args"`
			ExitCode int             `json:"exit_code"`
			Output   json.RawMessage `json:"output"`
			Stdout   string          `json:"stdout"`
			Stderr   string          `json:"stderr"`
		} `json:"results"`
	}
	if code != 0 || !isObject(stdout) || json.Unmarshal([]byte(stdout), &batch) != nil || len(batch.Results) != len(calls) {
		e2eframework.Failf("podprobe batch %s in %s/%s: exit %d, want %d results: stdout %q, stderr %q", encoded, pod.Name, container, code, len(calls), stdout, stderr)
	}
	results := make([]Result, len(calls))
	for i, r := range batch.Results {
		out := r.Stdout
		if len(r.Output) > 0 {
			out = string(r.Output)
		}
		results[i] = record(pod, container, calls[i], r.ExitCode, out, r.Stderr)
	}
	return results
}

// execute runs podprobe ARGS in container of pod, bounded by ExecTimeout. It
// returns what podprobe printed and its exit code; err is a suite error (no
// exec, no answer), never podprobe's own failure.
func execute(ctx context.Context, f *e2eframework.Framework, pod *v1.Pod, container string, args []string) (stdout, stderr string, code int, err error) {
	ctx, cancel := context.WithTimeout(ctx, ExecTimeout)
	defer cancel()
	stdout, stderr, err = e2epod.Exec(f.TContext(ctx), e2epod.ExecOptions{
		Command:       append([]string{Binary}, args...),
		Namespace:     pod.Namespace,
		PodName:       pod.Name,
		ContainerName: container,
		CaptureStdout: true,
		CaptureStderr: true,
		Quiet:         true,
	})
	var exitErr exec.CodeExitError
	switch {
	case err == nil:
		return stdout, stderr, 0, nil
	case errors.As(err, &exitErr):
		return stdout, stderr, exitErr.Code, nil
	case ctx.Err() != nil:
		return stdout, stderr, -1, fmt.Errorf("exec podprobe %s in %s/%s: no answer within %s (the exec hung): %v (stderr: %s)", strings.Join(args, " "), pod.Name, container, ExecTimeout, err, stderr)
	default:
		return stdout, stderr, -1, fmt.Errorf("exec podprobe %s in %s/%s: %v (stderr: %s)", strings.Join(args, " "), pod.Name, container, err, stderr)
	}
}

// isObject says whether podprobe printed its one JSON object.
func isObject(stdout string) bool {
	return json.Valid([]byte(stdout)) && strings.HasPrefix(strings.TrimSpace(stdout), "{")
}

// record turns what one podprobe subcommand printed into its Result and
// evidence; no JSON (a usage error, a missing binary) fails the spec: those
// are suite bugs, not observations.
func record(pod *v1.Pod, container string, args []string, code int, stdout, stderr string) Result {
	ginkgo.GinkgoHelper()
	r := Result{Container: container, Args: args, ExitCode: code}
	if !isObject(stdout) {
		e2eframework.Failf("podprobe %s in %s/%s printed no JSON (exit %d): stdout %q, stderr %q",
			strings.Join(args, " "), pod.Name, container, r.ExitCode, stdout, stderr)
	}
	r.Output = json.RawMessage(strings.TrimSpace(stdout))
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

// DecodeOK decodes a successful result into v, and fails the spec with what
// podprobe said when the operation failed: Into, for a result of Batch.
func (r Result) DecodeOK(v any) {
	ginkgo.GinkgoHelper()
	if !r.OK() {
		e2eframework.Failf("%s", r.Describe())
	}
	r.Decode(v)
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
	r.DecodeOK(v)
	return r
}
