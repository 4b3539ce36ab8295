// Package config holds the suite's own flags (--podsem.*), registered beside the
// e2e framework's, and validated once after flag parsing.
package config

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/podsem/podsem/framework/catalogue"
	"github.com/podsem/podsem/framework/profiles"
)

// DefaultImage is the podprobe image a fixture names when none is given; `make
// images` tags the content-hashed build with it too.
const DefaultImage = "podsem/podprobe:latest"

// Settings are the values of the --podsem.* flags.
type Settings struct {
	// Image is the podprobe image every fixture container runs.
	Image string
	// RuntimeClass, when set, is put on every fixture pod.
	RuntimeClass string
	// PullPolicy is put on every fixture container.
	PullPolicy v1.PullPolicy
	// Preflight runs only the preflight checks, then exits.
	Preflight bool
	// ImageChecked says a --podsem.preflight run with the same flags has just
	// checked the image with a pod (hack/e2e.sh and the kit run one first):
	// the suite's own preflight then does not start a second.
	ImageChecked bool
	// CheckCatalogue checks the spec tree against the catalogue, then exits.
	CheckCatalogue bool
	// Clean deletes every namespace podsem runs left behind, then exits.
	Clean bool
	// CleanOlderThan spares namespaces younger than this from Clean, so that a
	// run's own cleanup does not delete another run in progress on the cluster.
	CleanOlderThan time.Duration
	// Settle waits, up to this long, until no namespace podsem runs made is
	// still terminating, then exits (make bench: each timed run starts on a
	// cluster done with the last one's teardown); 0: off.
	Settle time.Duration
	// Profile names the known-divergence profile (framework/profiles) the run is
	// judged against, or a YAML file; empty: none.
	Profile string
	// ImageHelp is what the preflight tells a user whose nodes lack the image: how
	// to get it there. It depends on how the suite was started (make, the kit).
	ImageHelp string
	// Claims are the Optional IDs the vendor says the runtime offers: a
	// claimed spec fails where it would skip. --podsem.claim, plus the
	// profile's supports list.
	Claims []string
}

// Claimed says whether id is one of the claimed Optional IDs.
func (s Settings) Claimed(id string) bool { return slices.Contains(s.Claims, id) }

// DefaultImageHelp is the advice for runs started from the repository.
const DefaultImageHelp = "run `make images` (kind), or load/push it and pass --podsem.pull-policy=IfNotPresent"

// Current is what the flags said; read it after AfterReadingAllFlags.
var Current = Settings{Image: DefaultImage, PullPolicy: v1.PullNever, ImageHelp: DefaultImageHelp}

var pullPolicy = string(v1.PullNever)

var claims string

// Register adds the --podsem.* flags to fs.
func Register(fs *flag.FlagSet) {
	fs.StringVar(&Current.Image, "podsem.image", Current.Image, "podprobe image for every fixture container")
	fs.StringVar(&Current.RuntimeClass, "podsem.runtime-class", "", "RuntimeClass for every fixture pod (empty: the cluster's default runtime)")
	fs.StringVar(&pullPolicy, "podsem.pull-policy", pullPolicy, "imagePullPolicy of fixture containers: Never, IfNotPresent or Always")
	fs.BoolVar(&Current.Preflight, "podsem.preflight", false, "only check that the cluster can run the suite, then exit")
	fs.BoolVar(&Current.ImageChecked, "podsem.image-checked", false, "a --podsem.preflight run just checked the image: the suite's own preflight starts no pod to check it again")
	fs.BoolVar(&Current.CheckCatalogue, "podsem.check-catalogue", false, "only check that every catalogue ID has exactly one spec with its labels, then exit")
	fs.BoolVar(&Current.Clean, "podsem.clean", false, "only delete the namespaces earlier podsem runs left behind, then exit")
	fs.DurationVar(&Current.CleanOlderThan, "podsem.clean-older-than", 0, "with --podsem.clean: only namespaces older than this (0: all)")
	fs.DurationVar(&Current.Settle, "podsem.settle", 0, "only wait, up to this long, until no namespace of an earlier podsem run is terminating, then exit (0: off)")
	fs.StringVar(&Current.ImageHelp, "podsem.image-help", Current.ImageHelp, "what the preflight advises when the nodes lack the image")
	fs.StringVar(&claims, "podsem.claim", "", "comma-separated Optional catalogue IDs the runtime is claimed to offer: their specs fail instead of skipping")
	fs.StringVar(&Current.Profile, "podsem.profile", "", "known-divergence profile the run is judged against: "+strings.Join(profiles.Names(), ", ")+", or a YAML file (empty: none)")
}

// Validate checks the flag values; call it after parsing.
func Validate() error {
	switch p := v1.PullPolicy(pullPolicy); p {
	case v1.PullNever, v1.PullIfNotPresent, v1.PullAlways:
		Current.PullPolicy = p
	default:
		return fmt.Errorf("--podsem.pull-policy=%q: want one of Never, IfNotPresent, Always", pullPolicy)
	}
	if strings.TrimSpace(Current.Image) == "" {
		return fmt.Errorf("--podsem.image is empty")
	}
	Current.Claims = nil
	for _, id := range strings.Split(claims, ",") {
		if id = strings.TrimSpace(id); id == "" {
			continue
		}
		e, ok := catalogue.Find(id)
		switch {
		case !ok:
			return fmt.Errorf("--podsem.claim: %q is not a catalogue ID", id)
		case e.Level != catalogue.Optional:
			return fmt.Errorf("--podsem.claim: %s is %s, and only Optional IDs can be claimed", id, e.Level)
		}
		Current.Claims = append(Current.Claims, id)
	}
	if Current.Profile != "" {
		p, err := profiles.Load(Current.Profile)
		if err != nil {
			return fmt.Errorf("--podsem.profile: %v", err)
		}
		Current.Claims = append(Current.Claims, p.Supports...)
	}
	return nil
}
