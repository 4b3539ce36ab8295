package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// serviceAccountDir holds the files every pod with a mounted service account
// token has: token, ca.crt. Tests point it elsewhere.
var serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// kubeconfig is the file the suite is given, and how to tell the user about it.
type kubeconfig struct {
	path     string
	describe string
	cleanup  func()
}

// resolveKubeconfig picks the cluster: --kubeconfig, then $KUBECONFIG, then
// ~/.kube/config, then, inside a pod, the pod's service account. The suite takes a
// kubeconfig path, so the service account is written as one (token by file, so
// that a rotated token is read afresh).
func resolveKubeconfig(flagValue string) (*kubeconfig, error) {
	none := func() {}
	if flagValue != "" {
		return &kubeconfig{path: flagValue, describe: flagValue, cleanup: none}, nil
	}
	if env := os.Getenv("KUBECONFIG"); env != "" {
		if filepath.SplitList(env)[0] != env {
			return nil, usagef("KUBECONFIG=%s lists several files: pass the one to use with --kubeconfig", env)
		}
		return &kubeconfig{path: env, describe: env + " ($KUBECONFIG)", cleanup: none}, nil
	}
	if home, err := os.UserHomeDir(); err == nil {
		if p := filepath.Join(home, ".kube", "config"); fileExists(p) {
			return &kubeconfig{path: p, describe: p, cleanup: none}, nil
		}
	}
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" || !fileExists(filepath.Join(serviceAccountDir, "token")) {
		return nil, usagef("no cluster: pass --kubeconfig or set KUBECONFIG (or run podsem in a pod with a service account)")
	}
	dir, err := os.MkdirTemp("", "podsem-kubeconfig-")
	if err != nil {
		return nil, fmt.Errorf("writing the in-cluster kubeconfig: %v", err)
	}
	path := filepath.Join(dir, "kubeconfig")
	server := "https://" + net.JoinHostPort(host, port)
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["in-cluster"] = &clientcmdapi.Cluster{Server: server, CertificateAuthority: filepath.Join(serviceAccountDir, "ca.crt")}
	cfg.AuthInfos["service-account"] = &clientcmdapi.AuthInfo{TokenFile: filepath.Join(serviceAccountDir, "token")}
	cfg.Contexts["in-cluster"] = &clientcmdapi.Context{Cluster: "in-cluster", AuthInfo: "service-account"}
	cfg.CurrentContext = "in-cluster"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("writing the in-cluster kubeconfig: %v", err)
	}
	return &kubeconfig{
		path:     path,
		describe: fmt.Sprintf("%s (in-cluster, service account %s)", server, serviceAccountName()),
		cleanup:  func() { os.RemoveAll(dir) },
	}, nil
}

// serviceAccountName reads the token's subject (system:serviceaccount:NS:NAME),
// for the log line only: the API server, not podsem, checks the token.
func serviceAccountName() string {
	raw, err := os.ReadFile(filepath.Join(serviceAccountDir, "token"))
	if err != nil {
		return "of this pod"
	}
	parts := strings.Split(strings.TrimSpace(string(raw)), ".")
	if len(parts) != 3 {
		return "of this pod"
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct{ Sub string }
	if err != nil || json.Unmarshal(payload, &claims) != nil || claims.Sub == "" {
		return "of this pod"
	}
	return strings.TrimPrefix(claims.Sub, "system:serviceaccount:")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil || !errors.Is(err, os.ErrNotExist)
}
