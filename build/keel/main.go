// Command keel builds Keel images and runs them: `keel build` turns LinuxKit-compatible YAML
// into a kernel and an initramfs, `keel validate` checks that YAML without building, `keel
// pkg build` builds a package image, `keel run qemu` boots a build, `keel bench` measures how
// fast it boots.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

const usage = `usage: keel <command> [flags]

commands:
  build     build a kernel+initrd (or tar) from LinuxKit-compatible YAML
  validate  check YAML without building or the network: keel validate a.yml [b.yml...]
  pkg       build a package image: keel pkg build DIR
  run       boot a build: keel run qemu NAME
  kernel    build a tuned kernel (keel kernel build --arch A) or check a .config
  images    list the local image store; images prune removes replaced images' blobs
  bench     boot benchmark: keel bench [--runs N] [--out DIR] a.yml

Run "keel <command> -h" for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "build":
		err = buildCmd(args[1:], stdout, stderr)
	case "validate":
		err = validateCmd(args[1:], stdout, stderr)
	case "pkg":
		err = pkgCmd(args[1:], stdout, stderr)
	case "run":
		err = runCmd(args[1:], stdout, stderr)
	case "images":
		err = imagesCmd(args[1:], stdout, stderr)
	case "bench":
		err = benchCmd(args[1:], stdout, stderr)
	case "kernel":
		err = kernelCmd(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "keel: unknown command %q\n%s", args[0], usage)
		return 2
	}
	if err == errUsage {
		return 2
	}
	if err == errFailed {
		return 1
	}
	if err != nil {
		msg := err.Error()
		if !strings.HasPrefix(msg, "keel") {
			msg = "keel " + args[0] + ": " + msg
		}
		fmt.Fprintln(stderr, msg)
		return 1
	}
	return 0
}
