package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The kit's image archives (docker save format, which `ctr images import`,
// `docker load` and `podman load` all read), relative to podsem.
const (
	fixtureArchive = "images/podprobe.tar"
	runnerArchive  = "images/podsem.tar"
)

// pushTimeout bounds a push, so that an unreachable registry fails rather than hangs.
const pushTimeout = 10 * time.Minute

func imageCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "push" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintln(stdout, "usage: podsem image push [--runner] [--insecure] REGISTRY/REPOSITORY:TAG")
			return nil
		}
		return usagef("want: podsem image push [--runner] [--insecure] REGISTRY/REPOSITORY:TAG")
	}
	fs := newFlagSet("image push")
	runner := fs.Bool("runner", false, "push the runner image (podsem itself, for in-cluster and sonobuoy runs) instead of the fixture image")
	insecure := fs.Bool("insecure", false, "the registry speaks plain HTTP or has an untrusted certificate")
	flags, refs := splitPositional(args[1:])
	if help, err := parseFlags(fs, flags, stdout); help || err != nil {
		return err
	}
	if len(refs) != 1 {
		return usagef("podsem image push: want one image reference, REGISTRY/REPOSITORY:TAG")
	}
	var opts []name.Option
	if *insecure {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.ParseReference(refs[0], opts...)
	if err != nil {
		return usagef("podsem image push: %q is not an image reference: %v", refs[0], err)
	}
	archive, kitTag := fixtureArchive, fixtureImage
	if *runner {
		archive, kitTag = runnerArchive, runnerImage
	}
	path, err := kitFile(archive)
	if err != nil {
		return err
	}
	img, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		return fmt.Errorf("reading %s: %v", path, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return fmt.Errorf("reading %s: %v", path, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), pushTimeout)
	defer cancel()
	start := time.Now()
	logf(stderr, "pushing %s (%s) to %s", kitTag, archive, ref)
	// The user's own credentials: docker's config.json and its credential helpers.
	if err := remote.Write(ref, img, remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithContext(ctx)); err != nil {
		msg, _, _ := strings.Cut(err.Error(), "\n")
		return fmt.Errorf("pushing to %s: %s", ref, msg)
	}
	logf(stderr, "pushed %s@%s in %s", ref, digest, time.Since(start).Round(100*time.Millisecond))
	if *runner {
		fmt.Fprintf(stdout, "set the plugin's image to %s (sonobuoy/podsem.yaml)\n", ref)
	} else {
		fmt.Fprintf(stdout, "now: podsem run --image %s --runtime-class RC\n", ref)
	}
	return nil
}

// splitPositional separates flags from the image reference, which may come first.
func splitPositional(args []string) (flags, positional []string) {
	for _, a := range args {
		if len(a) > 1 && a[0] == '-' {
			flags = append(flags, a)
		} else {
			positional = append(positional, a)
		}
	}
	return flags, positional
}

// kitDir is the kit's root: the directory podsem sits in. Tests point it elsewhere.
var kitDir = func() (string, error) {
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		return "", fmt.Errorf("finding podsem's own path: %v", err)
	}
	return filepath.Dir(exe), nil
}

// kitFile finds a file of the kit.
func kitFile(rel string) (string, error) {
	dir, err := kitDir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, rel)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s is missing: run podsem from the extracted kit, where it sits in %s", p, rel)
	}
	return p, nil
}
