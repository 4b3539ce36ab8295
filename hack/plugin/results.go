package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/podsem/podsem/framework/catalogue"
)

// testcase is one testcase of a run, as its JUnit report or sonobuoy tells it.
type testcase struct {
	Name   string
	Status string // passed, failed or skipped; sonobuoy may say unknown
	Reason string // why it was skipped, where the source says (JUnit does, sonobuoy does not)
}

const (
	passed  = "passed"
	failed  = "failed"
	skipped = "skipped"
)

type junitCase struct {
	Name    string `xml:"name,attr"`
	Failure *struct {
		Message string `xml:"message,attr"`
	} `xml:"failure"`
	Error   *struct{} `xml:"error"`
	Skipped *struct {
		Message string `xml:"message,attr"`
	} `xml:"skipped"`
}

type junitSuite struct {
	XMLName xml.Name
	Cases   []junitCase  `xml:"testcase"`
	Suites  []junitSuite `xml:"testsuite"`
}

// parseJUnit reads the testcases of a JUnit XML report (a <testsuites> of
// <testsuite>s, or one <testsuite>).
func parseJUnit(data []byte) ([]testcase, error) {
	var root junitSuite
	if err := xml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("not XML: %v", err)
	}
	if n := root.XMLName.Local; n != "testsuites" && n != "testsuite" {
		return nil, fmt.Errorf("not JUnit XML: the root element is <%s>, not <testsuites> or <testsuite>", n)
	}
	var cases []testcase
	var walk func(s junitSuite)
	walk = func(s junitSuite) {
		for _, c := range s.Cases {
			tc := testcase{Name: c.Name, Status: passed}
			switch {
			case c.Failure != nil || c.Error != nil:
				tc.Status = failed
			case c.Skipped != nil:
				// Ginkgo: "skipped" for a spec the filters left out, "skipped - WHY" otherwise.
				tc.Status = skipped
				tc.Reason = strings.TrimPrefix(strings.TrimPrefix(c.Skipped.Message, "skipped"), " - ")
			}
			cases = append(cases, tc)
		}
		for _, sub := range s.Suites {
			walk(sub)
		}
	}
	walk(root)
	return cases, nil
}

// parseDetailed reads the output of `sonobuoy results --mode detailed`: one
// JSON object per leaf of the plugin's result tree, a testcase for a junit
// plugin.
func parseDetailed(data []byte) ([]testcase, error) {
	var cases []testcase
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20) // a testcase carries its whole output
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		// A leaf that stands for a file (a plugin's error, say) comes as "PATH {json}".
		if i := bytes.IndexByte(line, '{'); i > 0 {
			line = line[i:]
		}
		var item struct {
			Name   string `json:"name"`
			Status string `json:"status"`
		}
		if err := json.Unmarshal(line, &item); err != nil {
			return nil, fmt.Errorf("line %d is not a sonobuoy result item: %v", n, err)
		}
		cases = append(cases, testcase{Name: item.Name, Status: item.Status})
	}
	return cases, sc.Err()
}

// catalogueID is the ID a podsem spec carries in its name:
// "[It] network [NET-01] a TCP server ... [network, Required, NET-01]".
var catalogueID = regexp.MustCompile(`\[([A-Z]+-[0-9]+)\]`)

// checkOptions say what run was asked for.
type checkOptions struct {
	sample  []string // the IDs that ran; nil: the whole catalogue
	profile string   // failures are the plugin's gate's to judge against it
}

// verdict is what check found: one line per catalogue ID, the problems, and
// the closing line.
type verdict struct {
	lines    []string
	problems []string
	summary  string
}

// judge checks the testcases of a run against what was asked, and the
// plugin's gate line (the last "gate: " line of its log).
func judge(entries []catalogue.Entry, cases []testcase, gate string, o checkOptions) verdict {
	var v verdict
	byID := map[string][]testcase{}
	known := map[string]bool{}
	for _, e := range entries {
		known[e.ID] = true
	}
	for _, c := range cases {
		m := catalogueID.FindStringSubmatch(c.Name)
		switch {
		case m == nil && c.Status != passed && c.Status != skipped:
			// A suite node (the BeforeSuite, a report node) that failed.
			v.problems = append(v.problems, fmt.Sprintf("%q %s", c.Name, c.Status))
		case m == nil:
		case !known[m[1]]:
			v.problems = append(v.problems, fmt.Sprintf("%s is no catalogue ID (%q)", m[1], c.Name))
		default:
			byID[m[1]] = append(byID[m[1]], c)
		}
	}
	count := map[string]int{}
	outside := 0
	for _, e := range entries {
		cs := byID[e.ID]
		if len(cs) != 1 {
			v.problems = append(v.problems, fmt.Sprintf("%s has %d testcases, want 1", e.ID, len(cs)))
			v.lines = append(v.lines, fmt.Sprintf("  %-8s %-8s %s", "missing", e.ID, e.Semantic))
			continue
		}
		c := cs[0]
		count[c.Status]++
		selected := o.sample == nil || slices.Contains(o.sample, e.ID)
		note := ""
		switch {
		case !selected && c.Status == skipped:
			outside++
			note = " (not in the sample)"
		case !selected:
			v.problems = append(v.problems, fmt.Sprintf("%s %s, but it is not in the sample: the run was not focused", e.ID, c.Status))
		case c.Status == passed:
		case c.Status == failed && o.profile != "":
			note = " (the plugin's gate judges it against profile " + o.profile + ")"
		case c.Status == skipped && e.Level == catalogue.Optional:
			// Reported as the skip it is: the cluster does not offer it (the gate
			// fails it if it was claimed).
			note = " (Optional, not offered"
			if c.Reason != "" {
				note += ": " + firstLine(c.Reason)
			}
			note += ")"
		default:
			v.problems = append(v.problems, fmt.Sprintf("%s (%s) %s", e.ID, e.Level, c.Status))
		}
		v.lines = append(v.lines, fmt.Sprintf("  %-8s %-8s %s%s", c.Status, e.ID, e.Semantic, note))
	}

	switch {
	case gate == "":
		v.problems = append(v.problems, "the plugin's log has no gate line: the launcher did not finish")
	case !strings.HasPrefix(gate, "gate: pass"):
		v.problems = append(v.problems, "the plugin's "+gate)
	case o.sample != nil && !strings.Contains(gate, "partial: "):
		v.problems = append(v.problems, "a sample run whose gate did not judge it partial: "+gate)
	case o.sample == nil && strings.Contains(gate, "partial: "):
		v.problems = append(v.problems, "a full run judged partial: "+gate)
	}

	what := fmt.Sprintf("%d catalogue IDs", len(entries))
	if o.sample != nil {
		what = fmt.Sprintf("the sample, %d of %d catalogue IDs (%s)", len(o.sample), len(entries), strings.Join(o.sample, ","))
	}
	v.summary = fmt.Sprintf("%s: %d passed, %d failed, %d skipped", what, count[passed], count[failed], count[skipped]-outside)
	if outside > 0 {
		v.summary += fmt.Sprintf(", %d outside the sample skipped", outside)
	}
	for status, n := range count {
		if status != passed && status != failed && status != skipped {
			v.problems = append(v.problems, fmt.Sprintf("%d testcases %s", n, status))
		}
	}
	if gate != "" {
		v.summary += "; launcher's " + gate
	}
	return v
}

// gateLine is the last "gate: " line of a launcher's output.
func gateLine(log []byte) string {
	var last string
	for _, l := range strings.Split(string(log), "\n") {
		// sonobuoy's pod logs may carry a timestamp or stream prefix.
		if i := strings.Index(l, "gate: "); i >= 0 {
			last = strings.TrimSpace(l[i:])
		}
	}
	return last
}

func checkCmd(args []string) error {
	fs := flag.NewFlagSet("plugin check", flag.ContinueOnError)
	var (
		results, logFile, profile string
		junit, sonobuoy, isSample bool
	)
	fs.StringVar(&results, "results", "", "the run's testcases: a junit.xml (--junit), or the output of `sonobuoy results --mode detailed --plugin podsem` (--sonobuoy)")
	fs.BoolVar(&junit, "junit", false, "--results is JUnit XML")
	fs.BoolVar(&sonobuoy, "sonobuoy", false, "--results is sonobuoy's detailed results")
	fs.StringVar(&logFile, "log", "", "the launcher's output, with its gate line")
	fs.BoolVar(&isSample, "sample", false, "the run was the sample (plugin sample), not the whole catalogue")
	fs.StringVar(&profile, "profile", "", "the profile the run was judged against: its failures are the gate's to judge")
	if err := fs.Parse(args); err != nil {
		return usageError{fmt.Errorf("plugin check: bad flags")}
	}
	switch {
	case fs.NArg() > 0:
		return usageError{fmt.Errorf("plugin check: unexpected argument %q", fs.Arg(0))}
	case results == "" || logFile == "" || junit == sonobuoy:
		return usageError{fmt.Errorf("plugin check needs --results FILE, one of --junit and --sonobuoy, and --log FILE")}
	}
	data, err := os.ReadFile(results)
	if err != nil {
		return usageError{err}
	}
	log, err := os.ReadFile(logFile)
	if err != nil {
		return usageError{err}
	}
	var cases []testcase
	if junit {
		cases, err = parseJUnit(data)
	} else {
		cases, err = parseDetailed(data)
	}
	if err != nil {
		return fmt.Errorf("%s: %v", results, err)
	}
	o := checkOptions{profile: profile}
	if isSample {
		o.sample = sample
	}
	v := judge(catalogue.Entries, cases, gateLine(log), o)
	for _, l := range v.lines {
		fmt.Println(l)
	}
	if len(v.problems) > 0 {
		for _, p := range v.problems[1:] {
			logf("also: %s", p)
		}
		return fmt.Errorf("%s; %d problem(s): %s", v.summary, len(v.problems), v.problems[0])
	}
	fmt.Println(v.summary)
	return nil
}
