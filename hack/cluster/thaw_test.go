package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestThawWritesThawedToFrozenCgroupsOnly(t *testing.T) {
	root := t.TempDir()
	states := map[string]string{"a": "FROZEN\n", "a/b": "THAWED\n", "a/b/c": "FREEZING\n"}
	for dir, state := range states {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, dir, "freezer.state"), []byte(state), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if n := thaw(root); n != 2 {
		t.Errorf("thawed %d cgroups, want 2", n)
	}
	for dir := range states {
		got, _ := os.ReadFile(filepath.Join(root, dir, "freezer.state"))
		if string(got) != "THAWED" && string(got) != "THAWED\n" {
			t.Errorf("%s: %q", dir, got)
		}
	}
}
