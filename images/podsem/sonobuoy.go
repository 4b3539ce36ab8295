package main

import (
	"archive/tar"
	"compress/gzip"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// writeSonobuoyDone archives the reports and writes the archive's path to
// RESULTS/done: the sonobuoy worker waits for that file, then collects the path
// it names. It is written last, and even after a failed run, so that sonobuoy
// collects what there is rather than waiting out its timeout.
func writeSonobuoyDone(dir string) error {
	archive := filepath.Join(dir, resultsArchive)
	if err := writeArchive(archive, reportFiles(dir)); err != nil {
		return fmt.Errorf("sonobuoy results: %v", err)
	}
	tmp := filepath.Join(dir, "."+doneFile)
	if err := os.WriteFile(tmp, []byte(archive), 0o644); err != nil {
		return fmt.Errorf("sonobuoy results: %v", err)
	}
	// The worker polls for done: it must never see it half written.
	if err := os.Rename(tmp, filepath.Join(dir, doneFile)); err != nil {
		return fmt.Errorf("sonobuoy results: %v", err)
	}
	return nil
}

// writeArchive writes files to a gzipped tar, each by its base name.
func writeArchive(path string, files []string) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	for _, name := range files {
		if err := addFile(tw, name); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func addFile(tw *tar.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	hdr, err := tar.FileInfoHeader(st, "")
	if err != nil {
		return err
	}
	hdr.Name = filepath.Base(path)
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// writeStepFailure writes a junit.xml with one failed testcase for a step that
// ended the run before any spec (the preflight, say), so that sonobuoy reports
// why rather than an empty result.
func writeStepFailure(dir, step, message string) error {
	type failure struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	}
	type testcase struct {
		Name    string  `xml:"name,attr"`
		Failure failure `xml:"failure"`
	}
	type testsuite struct {
		XMLName  xml.Name   `xml:"testsuite"`
		Name     string     `xml:"name,attr"`
		Tests    int        `xml:"tests,attr"`
		Failures int        `xml:"failures,attr"`
		Cases    []testcase `xml:"testcase"`
	}
	out, err := xml.MarshalIndent(testsuite{
		Name: "podsem pod semantics", Tests: 1, Failures: 1,
		Cases: []testcase{{Name: "[podsem] " + step, Failure: failure{Message: message, Text: message}}},
	}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, junitReport), append([]byte(xml.Header), out...), 0o644)
}
