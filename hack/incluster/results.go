package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"

	"sigs.k8s.io/kind/pkg/cluster/nodes"
)

// junitCounts is what a JUnit report says.
type junitCounts struct {
	Testcases int
	Failed    []string // names of testcases with a failure or an error
	Skipped   int
}

type junitCase struct {
	Name    string    `xml:"name,attr"`
	Failure *struct{} `xml:"failure"`
	Error   *struct{} `xml:"error"`
	Skipped *struct{} `xml:"skipped"`
}

type junitSuite struct {
	XMLName xml.Name
	Cases   []junitCase  `xml:"testcase"`
	Suites  []junitSuite `xml:"testsuite"`
}

// parseJUnit counts the testcases of a JUnit XML report (a <testsuites> of
// <testsuite>s, or one <testsuite>), its failed (failure or error) and skipped ones.
func parseJUnit(data []byte) (junitCounts, error) {
	var root junitSuite
	if err := xml.Unmarshal(data, &root); err != nil {
		return junitCounts{}, fmt.Errorf("not XML: %v", err)
	}
	if n := root.XMLName.Local; n != "testsuites" && n != "testsuite" {
		return junitCounts{}, fmt.Errorf("not JUnit XML: the root element is <%s>, not <testsuites> or <testsuite>", n)
	}
	var c junitCounts
	var walk func(s junitSuite)
	walk = func(s junitSuite) {
		for _, tc := range s.Cases {
			c.Testcases++
			switch {
			case tc.Failure != nil || tc.Error != nil:
				c.Failed = append(c.Failed, tc.Name)
			case tc.Skipped != nil:
				c.Skipped++
			}
		}
		for _, sub := range s.Suites {
			walk(sub)
		}
	}
	walk(root)
	return c, nil
}

// resultPath checks that done, the content of the done file, names a file
// inside the results directory mount (both as the plugin container sees them)
// and returns its path relative to mount.
func resultPath(done, mount string) (string, error) {
	p := strings.TrimSpace(done)
	switch {
	case p == "":
		return "", errors.New("done is empty")
	case !path.IsAbs(p):
		return "", fmt.Errorf("done names %q, not an absolute path", p)
	}
	rel, ok := strings.CutPrefix(path.Clean(p), path.Clean(mount)+"/")
	if !ok || rel == "" {
		return "", fmt.Errorf("done names %s, outside the results directory %s", p, mount)
	}
	return rel, nil
}

// catalogueID is the ID a podsem spec carries in its name: [NET-01].
var catalogueID = regexp.MustCompile(`\[([A-Z]+-[0-9]+)\]`)

// failedNames names failed testcases briefly: by catalogue ID where they have
// one, at most maxNamed of them.
func failedNames(names []string) string {
	const maxNamed = 12
	var short []string
	for _, n := range names {
		if m := catalogueID.FindStringSubmatch(n); m != nil {
			n = m[1]
		}
		short = append(short, n)
	}
	if len(short) > maxNamed {
		short = append(short[:maxNamed:maxNamed], fmt.Sprintf("and %d more", len(names)-maxNamed))
	}
	return strings.Join(short, ", ")
}

// because is " (why)" for an error reading a file on the node, or "" when the
// file is just missing.
func because(err error) string {
	if strings.Contains(err.Error(), "No such file or directory") {
		return ""
	}
	return " (" + err.Error() + ")"
}

// onNode runs a command on a kind node and returns its stdout.
func onNode(n nodes.Node, name string, args ...string) ([]byte, error) {
	var out, errOut bytes.Buffer
	if err := n.Command(name, args...).SetStdout(&out).SetStderr(&errOut).Run(); err != nil {
		if msg := firstLine(errOut.String()); msg != "" {
			return nil, errors.New(msg)
		}
		return nil, err
	}
	return out.Bytes(), nil
}

// checkJUnit reads <results>/junit.xml on the node (hostDir is the results
// directory there, mount where the plugin saw it) and says what it holds; ok is
// false when it is missing, not JUnit, empty, or has a failed testcase while no
// profile judged the run.
func checkJUnit(n nodes.Node, hostDir, mount, profile string) (part string, ok bool) {
	name := path.Join(mount, "junit.xml")
	data, err := onNode(n, "cat", path.Join(hostDir, "junit.xml"))
	if err != nil {
		return "no junit " + name + because(err), false
	}
	c, err := parseJUnit(data)
	if err != nil {
		return fmt.Sprintf("junit %s: %v", name, err), false
	}
	if c.Testcases == 0 {
		return fmt.Sprintf("junit %s: no testcase", name), false
	}
	failures := fmt.Sprintf("%d failures", len(c.Failed))
	if len(c.Failed) > 0 {
		failures += " (" + failedNames(c.Failed) + ")"
	}
	part = fmt.Sprintf("junit %s: %d testcases, %s, %d skipped", name, c.Testcases, failures, c.Skipped)
	if len(c.Failed) > 0 && profile != "" {
		// JUnit knows no known divergences: the plugin's own gate (its exit
		// status, which the pod's phase says) judged these against the profile.
		return part + ", judged by the plugin's gate against profile " + profile, true
	}
	return part, len(c.Failed) == 0
}

// checkDone reads <results>/done on the node, checks that it names a file in the
// results directory that exists and, for a tar.gz archive, that the archive
// holds a junit.xml (what sonobuoy reads for result-format junit).
func checkDone(n nodes.Node, hostDir, mount string) (part string, ok bool) {
	doneFile := path.Join(mount, "done")
	data, err := onNode(n, "cat", path.Join(hostDir, "done"))
	if err != nil {
		return fmt.Sprintf("no %s: the plugin did not hand its results to sonobuoy's worker%s", doneFile, because(err)), false
	}
	rel, err := resultPath(string(data), mount)
	if err != nil {
		return doneFile + ": " + err.Error(), false
	}
	named := path.Join(mount, rel)
	onHost := path.Join(hostDir, rel)
	if _, err := onNode(n, "test", "-f", onHost); err != nil {
		return fmt.Sprintf("done -> %s, which is not a file", named), false
	}
	if strings.HasSuffix(rel, ".tar.gz") || strings.HasSuffix(rel, ".tgz") {
		list, err := onNode(n, "tar", "-tzf", onHost)
		if err != nil {
			return fmt.Sprintf("done -> %s, which is not a gzip tar archive (%v)", named, err), false
		}
		entries := strings.Fields(string(list))
		hasJUnit := false
		for _, e := range entries {
			hasJUnit = hasJUnit || path.Base(e) == "junit.xml"
		}
		logf("%s holds %s", named, strings.Join(entries, " "))
		if !hasJUnit {
			return fmt.Sprintf("done -> %s, an archive without junit.xml", named), false
		}
	}
	return "done -> " + named, true
}
