package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/xml"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/podsem/podsem/framework/catalogue"
)

func TestRunFlags(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		wantErr    string
		pull       string
		filter     string
		imageGiven bool
		claims     string
		partial    bool
	}{
		{name: "defaults: the kit's image, never pulled", pull: "Never"},
		{name: "an image of the user's is pulled", args: []string{"--image", "reg.example/p:1"}, pull: "IfNotPresent", imageGiven: true},
		{name: "the kit's image named explicitly is still never pulled", args: []string{"--image", fixtureImage}, pull: "Never"},
		{name: "an explicit pull policy wins", args: []string{"--image", "reg.example/p:1", "--pull-policy", "Never"}, pull: "Never", imageGiven: true},
		{name: "focus by ID, area and level", args: []string{"--focus", "NET-01, ipc,Optional"}, pull: "Never", filter: "NET-01 || ipc || Optional"},
		{name: "unknown focus", args: []string{"--focus", "NET-99"}, wantErr: `"NET-99" is not a catalogue ID`},
		{name: "bad pull policy", args: []string{"--pull-policy", "Sometimes"}, wantErr: "want Never, IfNotPresent or Always"},
		{name: "no parallelism", args: []string{"--parallel", "0"}, wantErr: "want 1 to 64"},
		{name: "unknown profile", args: []string{"--profile", "nope"}, wantErr: "unknown profile"},
		{name: "unknown flag", args: []string{"--bogus"}, wantErr: "flag provided but not defined"},
		{name: "stray argument", args: []string{"runc"}, wantErr: `unexpected argument "runc"`},
		{name: "zero timeout", args: []string{"--timeout", "0s"}, wantErr: "positive duration"},
		{name: "claims", args: []string{"--claim", "PID-02, PID-03"}, pull: "Never", claims: "PID-02 PID-03"},
		{name: "a Required ID cannot be claimed", args: []string{"--claim", "NET-01"}, wantErr: "only Optional IDs can be claimed"},
		{name: "an unknown ID cannot be claimed", args: []string{"--claim", "NET-99"}, wantErr: `"NET-99" is not a catalogue ID`},
		{name: "a focused run asked to be partial", args: []string{"--focus", "ipc", "--partial"}, pull: "Never", filter: "ipc", partial: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, help, err := parseRunFlags(tc.args, io.Discard)
			if help {
				t.Fatal("help requested")
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.pullPolicy != tc.pull || o.labelFilter != tc.filter || o.imageGiven != tc.imageGiven {
				t.Errorf("pull %q filter %q imageGiven %v, want %q %q %v", o.pullPolicy, o.labelFilter, o.imageGiven, tc.pull, tc.filter, tc.imageGiven)
			}
			if strings.Join(o.claims, " ") != tc.claims || o.partial != tc.partial {
				t.Errorf("claims %q partial %v, want %q %v", o.claims, o.partial, tc.claims, tc.partial)
			}
			if !filepath.IsAbs(o.results) {
				t.Errorf("results %q is not absolute: ginkgo runs the suite elsewhere", o.results)
			}
		})
	}
}

func TestDispatchExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{nil, 2},
		{[]string{"bogus"}, 2},
		{[]string{"list"}, 0},
		{[]string{"list", "--bogus"}, 2},
		{[]string{"version"}, 0},
		{[]string{"run", "--parallel", "-1"}, 2},
		{[]string{"image"}, 2},
		{[]string{"image", "push"}, 2},
		{[]string{"image", "push", "UPPER/Case:bad tag"}, 2},
	} {
		var out, errOut bytes.Buffer
		if code := dispatch(tc.args, &out, &errOut); code != tc.code {
			t.Errorf("podsem %v: exit %d, want %d (stderr %q)", tc.args, code, tc.code, errOut.String())
		}
		if strings.Contains(errOut.String(), "goroutine ") || strings.Count(errOut.String(), "error:") > 1 {
			t.Errorf("podsem %v: want at most one error line, got %q", tc.args, errOut.String())
		}
	}
}

func TestListPrintsTheCatalogue(t *testing.T) {
	var out bytes.Buffer
	if err := listCmd(nil, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var got, want []string
	for _, l := range lines[1:] {
		got = append(got, strings.Fields(l)[0])
	}
	for _, e := range catalogue.Entries {
		want = append(want, e.ID)
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("list printed %v, want %v", got, want)
	}
}

func TestKubeconfigOrder(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("KUBECONFIG", "")
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	serviceAccountDir = filepath.Join(home, "absent")

	if _, err := resolveKubeconfig(""); err == nil || !strings.Contains(err.Error(), "no cluster") {
		t.Fatalf("nothing to go by: error %v, want 'no cluster'", err)
	}
	kc, _ := resolveKubeconfig("/given")
	if kc.path != "/given" {
		t.Errorf("--kubeconfig: got %s", kc.path)
	}
	if err := os.MkdirAll(filepath.Join(home, ".kube"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".kube", "config"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if kc, _ := resolveKubeconfig(""); kc.path != filepath.Join(home, ".kube", "config") {
		t.Errorf("~/.kube/config: got %s", kc.path)
	}
	t.Setenv("KUBECONFIG", "/from/env")
	if kc, _ := resolveKubeconfig(""); kc.path != "/from/env" {
		t.Errorf("$KUBECONFIG: got %s", kc.path)
	}
	t.Setenv("KUBECONFIG", "/a:/b")
	if _, err := resolveKubeconfig(""); err == nil {
		t.Error("$KUBECONFIG with two files: want an error, the suite takes one")
	}
}

func TestInClusterKubeconfig(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBECONFIG", "")
	t.Setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
	t.Setenv("KUBERNETES_SERVICE_PORT", "443")
	serviceAccountDir = t.TempDir()
	claims := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"system:serviceaccount:podsem-runner:podsem"}`))
	if err := os.WriteFile(filepath.Join(serviceAccountDir, "token"), []byte("h."+claims+".s"), 0o600); err != nil {
		t.Fatal(err)
	}
	kc, err := resolveKubeconfig("")
	if err != nil {
		t.Fatal(err)
	}
	defer kc.cleanup()
	cfg, err := clientcmd.LoadFromFile(kc.path)
	if err != nil {
		t.Fatal(err)
	}
	cl := cfg.Clusters[cfg.Contexts[cfg.CurrentContext].Cluster]
	user := cfg.AuthInfos[cfg.Contexts[cfg.CurrentContext].AuthInfo]
	if cl.Server != "https://[fd00::1]:443" || cl.CertificateAuthority != filepath.Join(serviceAccountDir, "ca.crt") {
		t.Errorf("cluster %+v", cl)
	}
	if user.TokenFile != filepath.Join(serviceAccountDir, "token") || user.Token != "" {
		t.Errorf("user: token must be read from its file, got %+v", user)
	}
	if !strings.Contains(kc.describe, "podsem-runner:podsem") {
		t.Errorf("describe %q does not name the service account", kc.describe)
	}
	kc.cleanup()
	if _, err := os.Stat(kc.path); err == nil {
		t.Error("cleanup left the kubeconfig with the token path behind")
	}
}

func TestSonobuoyDone(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"junit.xml", "report.json", "report.md"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("content of "+f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := writeSonobuoyDone(dir); err != nil {
		t.Fatal(err)
	}
	done, err := os.ReadFile(filepath.Join(dir, "done"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(string(done))
	if err != nil {
		t.Fatalf("done names %q: %v", done, err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		if string(body) != "content of "+h.Name {
			t.Errorf("%s holds %q", h.Name, body)
		}
		names = append(names, h.Name)
	}
	if strings.Join(names, " ") != "junit.xml report.json report.md" {
		t.Errorf("archive holds %v", names)
	}
}

// TestImagePush pushes a kit archive to a registry served in memory and reads
// it back by digest.
func TestImagePush(t *testing.T) {
	kit := t.TempDir()
	kitDir = func() (string, error) { return kit, nil }
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag(fixtureImage)
	if err := os.MkdirAll(filepath.Join(kit, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(filepath.Join(kit, fixtureArchive), tag, img); err != nil {
		t.Fatal(err)
	}
	reg := httptest.NewServer(registry.New())
	defer reg.Close()
	ref := strings.TrimPrefix(reg.URL, "http://") + "/vendor/podprobe:v1"

	var out, errOut bytes.Buffer
	if code := dispatch([]string{"image", "push", ref}, &out, &errOut); code != 0 {
		t.Fatalf("push exited %d: %s", code, errOut.String())
	}
	parsed, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	pushed, err := remote.Image(parsed)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if got, _ := pushed.Digest(); got != want {
		t.Errorf("registry holds %s, want %s", got, want)
	}
	if !strings.Contains(out.String(), "--image "+ref) {
		t.Errorf("push does not say how to run with the pushed image: %q", out.String())
	}

	// The runner archive is absent from this kit: one clear line.
	errOut.Reset()
	if code := dispatch([]string{"image", "push", "--runner", ref}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "images/podsem.tar is missing") {
		t.Errorf("push --runner without the archive: exit %d, %q", code, errOut.String())
	}
}

func TestStepFailureIsJUnit(t *testing.T) {
	dir := t.TempDir()
	msg := `[podsem] error: preflight: RuntimeClass "kata" does not exist; the cluster has: runc`
	if err := writeStepFailure(dir, "preflight", msg); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "junit.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var suite struct {
		Failures int `xml:"failures,attr"`
		Cases    []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
		} `xml:"testcase"`
	}
	if err := xml.Unmarshal(raw, &suite); err != nil {
		t.Fatal(err)
	}
	if suite.Failures != 1 || len(suite.Cases) != 1 || suite.Cases[0].Failure == nil || suite.Cases[0].Failure.Message != msg {
		t.Errorf("junit.xml does not carry the failed step: %s", raw)
	}
}
