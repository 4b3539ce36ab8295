// Command runsc-wrapper runs gVisor's runsc as the OCI runtime behind
// containerd's runc shim: the node's containerd handler "gvisor" names it as
// its BinaryName, and the shim calls it as it would call runc. What it bridges
// between the two is described in package gvisor (images/gvisor).
package main

import (
	"os"

	"github.com/podsem/podsem/images/gvisor"
)

func main() {
	os.Exit(gvisor.Main(os.Args[1:]))
}
