// Package pod is podsem's one test binary: every pod-semantics spec, one file per
// area, selected with Ginkgo labels (area, Required/Optional, ID).
package pod

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"
	e2eframework "k8s.io/kubernetes/test/e2e/framework"

	"github.com/podsem/podsem/framework/catalogue"
	"github.com/podsem/podsem/framework/config"
	"github.com/podsem/podsem/framework/pods"
	"github.com/podsem/podsem/framework/preflight"
	"github.com/podsem/podsem/framework/spec"
)

func TestMain(m *testing.M) {
	e2eframework.RegisterCommonFlags(flag.CommandLine)
	e2eframework.RegisterClusterFlags(flag.CommandLine)
	config.Register(flag.CommandLine)
	flag.Parse()
	if err := config.Validate(); err != nil {
		exit(2, err.Error())
	}
	e2eframework.AfterReadingAllFlags(&e2eframework.TestContext)

	switch {
	case config.Current.Preflight:
		summary, err := preflight.Run(context.Background(), e2eframework.TestContext.KubeConfig, config.Current)
		if err != nil {
			exit(3, "preflight: "+err.Error())
		}
		fmt.Fprintln(os.Stderr, "[podsem] preflight ok: "+summary)
		os.Exit(0)
	case config.Current.CheckCatalogue:
		checkCatalogue()
	case config.Current.Clean:
		client, _, err := preflight.Client(e2eframework.TestContext.KubeConfig)
		if err != nil {
			exit(3, "clean: "+err.Error())
		}
		deleted, err := preflight.Clean(context.Background(), client, spec.NamespacePrefix, config.Current.CleanOlderThan)
		if err != nil {
			exit(3, "clean: "+err.Error())
		}
		fmt.Fprintf(os.Stderr, "[podsem] clean: deleted %d namespace(s) left by earlier runs%s\n", len(deleted), strings.TrimRight(" "+strings.Join(deleted, " "), " "))
		os.Exit(0)
	case config.Current.Settle > 0:
		client, _, err := preflight.Client(e2eframework.TestContext.KubeConfig)
		if err != nil {
			exit(3, "settle: "+err.Error())
		}
		n, waited, err := preflight.Settle(context.Background(), client, spec.NamespacePrefix, config.Current.Settle)
		if err != nil {
			exit(3, "settle: "+err.Error())
		}
		fmt.Fprintf(os.Stderr, "[podsem] settle: %d terminating namespace(s) of earlier runs gone after %s\n", n, waited.Round(10*time.Millisecond))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// checkCatalogue expands the spec tree without running anything and checks that
// every catalogue ID has exactly one spec with the catalogue's text and labels.
func checkCatalogue() {
	report := ginkgo.PreviewSpecs("podsem catalogue check")
	var specs []catalogue.Spec
	for _, s := range report.SpecReports {
		if s.LeafNodeType == types.NodeTypeIt {
			specs = append(specs, catalogue.Spec{Text: s.FullText(), Labels: s.Labels()})
		}
	}
	if problems := catalogue.Check(specs); len(problems) > 0 {
		exit(1, "the suite does not match the catalogue:\n  "+strings.Join(problems, "\n  "))
	}
	fmt.Fprintf(os.Stderr, "[podsem] catalogue check: %d specs, one per catalogue ID, text and labels as catalogued\n", len(specs))
	os.Exit(0)
}

func exit(code int, msg string) {
	fmt.Fprintln(os.Stderr, "[podsem] error: "+msg)
	os.Exit(code)
}

func TestPod(t *testing.T) {
	gomega.RegisterFailHandler(e2eframework.Fail)
	suiteConfig, reporterConfig := e2eframework.CreateGinkgoConfig()
	ginkgo.RunSpecs(t, "podsem pod semantics", suiteConfig, reporterConfig)
}

// The same preflight `make e2e` runs first, for runs started with ginkgo directly:
// one clear failure instead of every spec timing out.
// Then, once per run, the namespace of the nodes' neighbours (pods.StartBesideNeighbour),
// deleted after the last spec of every process.
var _ = ginkgo.SynchronizedBeforeSuite(func(ctx context.Context) []byte {
	summary, err := preflight.Run(ctx, e2eframework.TestContext.KubeConfig, config.Current)
	if err != nil {
		ginkgo.AbortSuite("preflight: " + err.Error())
	}
	ginkgo.AddReportEntry("preflight", summary, ginkgo.ReportEntryVisibilityFailureOrVerbose)
	client, _, err := preflight.Client(e2eframework.TestContext.KubeConfig)
	if err != nil {
		ginkgo.AbortSuite("the neighbours' namespace: " + err.Error())
	}
	ns, err := pods.PrepareNeighbours(ctx, client)
	if err != nil {
		ginkgo.AbortSuite(err.Error())
	}
	return []byte(ns)
}, func(ns []byte) {
	pods.UseNeighbours(string(ns))
})

var _ = ginkgo.SynchronizedAfterSuite(func() {}, func(ctx context.Context) {
	client, _, err := preflight.Client(e2eframework.TestContext.KubeConfig)
	if err == nil {
		err = pods.ReleaseNeighbours(ctx, client)
	}
	if err != nil {
		ginkgo.AddReportEntry("the neighbours' namespace was not deleted (make e2e-clean will)", err.Error())
	}
})
