// Command containerd-shim-runc-v2 is Keel's runc shim as a binary of its own, for systems
// that do not use the init binary's built-in copy.
package main

import runcshim "github.com/keel-os/keel/runc-shim"

func main() { runcshim.Main() }
