// Command faults runs the suite under runc (the baseline, which must pass), under
// every fault-injecting RuntimeClass of the kind node and under every benign one
// (images/faults), and writes _artifacts/faults.md: per fault, the IDs it must
// fail, the IDs that failed, and a verdict; per benign handler, whether it was
// clean. It exits non-zero when a fault is MISSED (a declared ID passed) or
// UNEXPECTED (an undeclared ID failed), a benign handler raised a FALSE ALARM (a
// Required ID did not pass, an Optional one ended otherwise than under the
// baseline), or the baseline fails.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/podsem/podsem/framework/catalogue"
	"github.com/podsem/podsem/images/faults"
)

// baseline is the RuntimeClass every fault is compared with.
const baseline = "runc"

func main() {
	artifacts := flag.String("artifacts", "_artifacts", "where runs and faults.md go")
	only := flag.String("only", "", "comma-separated fault names to run (default: all)")
	flag.Parse()

	selected, benign, err := selectHandlers(*only)
	if err != nil {
		fail("%v", err)
	}
	start := time.Now()
	base, err := run(baseline, filepath.Join(*artifacts, "faults", baseline))
	if err != nil {
		fail("%v", err)
	}
	logf("baseline %s: %s", baseline, base.summary())

	var rows []row
	for _, f := range selected {
		res, err := run(f.Handler(), filepath.Join(*artifacts, "faults", f.Handler()))
		if err != nil {
			fail("%v", err)
		}
		r := judge(f, res)
		logf("%s: %s: %s", f.Handler(), res.summary(), r.verdict)
		rows = append(rows, r)
	}
	var benignRows []benignRow
	for _, f := range benign {
		res, err := run(f.Handler(), filepath.Join(*artifacts, "faults", f.Handler()))
		if err != nil {
			fail("%v", err)
		}
		r := judgeBenign(f, res, base)
		logf("%s: %s: %s", f.Handler(), res.summary(), r.verdict)
		benignRows = append(benignRows, r)
	}
	md := render(base, rows, benignRows, len(selected) == len(faults.All), time.Since(start))
	out := filepath.Join(*artifacts, "faults.md")
	if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
		fail("%v", err)
	}
	logf("fault matrix: %s (%s)", out, time.Since(start).Round(time.Second))
	if !base.clean() {
		fail("the baseline (%s) does not pass: %s", baseline, base.summary())
	}
	bad := 0
	for _, r := range rows {
		if r.verdict != caught {
			logf("error: %s: %s", r.fault.Handler(), r.verdict)
			bad++
		}
	}
	for _, r := range benignRows {
		if r.verdict != clean {
			logf("error: %s: %s", r.handler.Handler(), r.verdict)
			bad++
		}
	}
	if bad > 0 {
		fail("%d of %d handlers did not behave as declared: see %s", bad, len(rows)+len(benignRows), out)
	}
}

// selectHandlers picks the faults and benign handlers named in only (names or
// handler names, comma-separated); all of both when only is empty.
func selectHandlers(only string) (selected, benign []faults.Fault, err error) {
	if only == "" {
		return faults.All, faults.Benign, nil
	}
	for _, name := range strings.Split(only, ",") {
		f, err := faults.Lookup(strings.TrimSpace(name))
		if err != nil {
			return nil, nil, err
		}
		if f.Benign {
			benign = append(benign, f)
		} else {
			selected = append(selected, f)
		}
	}
	return selected, benign, nil
}

// result is what one run of the suite did, by catalogue ID.
type result struct {
	runtimeClass string
	state        map[string]types.SpecState
	message      map[string]string // why a spec failed or was skipped
	wall         time.Duration
}

func (r result) ids(state types.SpecState) []string {
	var out []string
	for _, e := range catalogue.Entries {
		if r.state[e.ID] == state {
			out = append(out, e.ID)
		}
	}
	return out
}

func (r result) clean() bool {
	return len(r.ids(types.SpecStateFailed)) == 0 && len(r.state) > 0 && len(r.ids(types.SpecStatePassed))+len(r.ids(types.SpecStateSkipped)) == len(r.state)
}

// counts is "N passed, N failed, N skipped".
func (r result) counts() string {
	return fmt.Sprintf("%d passed, %d failed, %d skipped", len(r.ids(types.SpecStatePassed)),
		len(r.state)-len(r.ids(types.SpecStatePassed))-len(r.ids(types.SpecStateSkipped)), len(r.ids(types.SpecStateSkipped)))
}

func (r result) summary() string {
	s := fmt.Sprintf("%d passed, %d failed", len(r.ids(types.SpecStatePassed)), len(r.ids(types.SpecStateFailed)))
	if n := len(r.ids(types.SpecStateSkipped)); n > 0 {
		s += fmt.Sprintf(", %d skipped", n)
	}
	if failed := r.ids(types.SpecStateFailed); len(failed) > 0 {
		s += " (" + strings.Join(failed, ", ") + ")"
	}
	return s + fmt.Sprintf(" in %s", r.wall.Round(time.Second))
}

// run runs the suite (hack/e2e.sh) under runtimeClass, its reports and log in dir.
func run(runtimeClass, dir string) (result, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return result{}, err
	}
	logFile, err := os.Create(filepath.Join(dir, "run.log"))
	if err != nil {
		return result{}, err
	}
	defer logFile.Close()
	start := time.Now()
	cmd := exec.Command("hack/e2e.sh")
	cmd.Env = append(os.Environ(), "RUNTIME_CLASS="+runtimeClass, "ARTIFACTS="+dir, "FOCUS=", "LABELS=")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	runErr := cmd.Run() // failing specs are the point; the report says which
	res, err := readReport(filepath.Join(dir, "report.json"))
	if err != nil {
		return result{}, fmt.Errorf("suite under %s left no report (%v; run: %v): see %s", runtimeClass, err, runErr, logFile.Name())
	}
	res.runtimeClass, res.wall = runtimeClass, time.Since(start)
	return res, nil
}

func readReport(path string) (result, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return result{}, err
	}
	var reports []types.Report
	if err := json.Unmarshal(raw, &reports); err != nil {
		return result{}, fmt.Errorf("decoding %s: %w", path, err)
	}
	res := result{state: map[string]types.SpecState{}, message: map[string]string{}}
	for _, rep := range reports {
		for _, s := range rep.SpecReports {
			if s.LeafNodeType != types.NodeTypeIt {
				continue
			}
			for _, e := range catalogue.Entries {
				if strings.HasPrefix(s.LeafNodeText, "["+e.ID+"]") {
					res.state[e.ID] = s.State
					if msg := s.Failure.Message; msg != "" {
						res.message[e.ID] = msg
					}
				}
			}
		}
	}
	if len(res.state) == 0 {
		return res, fmt.Errorf("%s has no catalogue specs", path)
	}
	return res, nil
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[podsem] error: "+format+"\n", args...)
	os.Exit(1)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[podsem] "+format+"\n", args...)
}
