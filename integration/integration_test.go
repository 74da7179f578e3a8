// Package integration boots real Keel images under qemu (TCG) and checks what the guest
// prints on its serial console. The images are built the way a user builds them: the keel
// command builds the packages into the local store, then the image from YAML.
package integration

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keel-os/keel/guest"
)

var (
	repo     string // repository root
	keelBin  string // the keel command built for the tests
	setupErr error  // why the guest tests cannot run
)

// The power off line PID 1 prints last (package guest), and a pattern for it alone on its
// line: "keel: power off requested" comes before it.
var (
	powerOffLine = guest.Line(guest.PowerOff)
	poweredOff   = `(?m)^` + regexp.QuoteMeta(powerOffLine) + `\r?$`
)

// packages are built once for all tests; the kernel comes from keel kernel build.
var packages = []string{"init", "services/getty", "onboot/sysctl", "integration/checker",
	"onboot/dhcpcd", "metadata", "onboot/format", "onboot/mount", "onboot/extend", "onboot/swap", "onboot/dm-crypt",
	"services/acpid", "services/ntpd", "services/ca-certificates", "services/sshd"}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	wd, _ := os.Getwd()
	repo = filepath.Dir(wd)
	tmp, err := os.MkdirTemp("", "keel-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	setupErr = setup(tmp)
	return m.Run()
}

func setup(tmp string) error {
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		return fmt.Errorf("qemu-system-x86_64 not installed (make deps installs it)")
	}
	keelBin = filepath.Join(tmp, "keel")
	if out, err := command(repo, "go", "build", "-o", keelBin, "./build/keel"); err != nil {
		return fmt.Errorf("build keel: %v\n%s", err, out)
	}
	return buildArch("amd64", packages)
}

// buildArch builds (or takes from the cache) the tuned kernel and the packages for arch.
func buildArch(arch string, pkgs []string) error {
	if out, err := command(repo, keelBin, "kernel", "build", "--arch", arch); err != nil {
		return fmt.Errorf("keel kernel build --arch %s: %v\n%s", arch, err, out)
	}
	args := append([]string{"pkg", "build", "--arch", arch}, pkgs...)
	if out, err := command(repo, keelBin, args...); err != nil {
		return fmt.Errorf("keel pkg build --arch %s: %v\n%s", arch, err, out)
	}
	return nil
}

func command(dir, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	return cmd.CombinedOutput()
}

// needGuest skips a test that boots a guest when the machine cannot, unless
// KEEL_INTEGRATION=require (as in make test and CI), where it fails.
func needGuest(t *testing.T) {
	t.Helper()
	if setupErr == nil {
		return
	}
	if os.Getenv("KEEL_INTEGRATION") == "require" {
		t.Fatalf("integration setup: %v", setupErr)
	}
	t.Skipf("integration setup: %v", setupErr)
}

// buildImage runs keel build on a YAML file of testdata into dir and returns NAME's path.
func buildImage(t *testing.T, yml, dir string) string {
	t.Helper()
	return buildImageFor(t, "amd64", yml, dir)
}

// buildImageFor is buildImage for arch; flags are more keel build flags.
func buildImageFor(t *testing.T, arch, yml, dir string, flags ...string) string {
	t.Helper()
	args := append([]string{"build", "-o", dir, "--arch", arch}, flags...)
	out, err := command(repo, keelBin, append(args, yml)...)
	if err != nil {
		t.Fatalf("keel build %s: %v\n%s", yml, err, out)
	}
	return filepath.Join(dir, strings.TrimSuffix(filepath.Base(yml), filepath.Ext(yml)))
}

// boot runs keel run qemu on an image and returns the console output and keel's error.
func boot(t *testing.T, image string, args ...string) (string, error) {
	t.Helper()
	argv := append([]string{"run", "qemu", "--accel", "tcg", "--timeout", "5m"}, args...)
	argv = append(argv, image)
	cmd := exec.Command(keelBin, argv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("boot of %s took %s", filepath.Base(image), time.Since(start).Round(time.Millisecond))
	if testing.Verbose() || err != nil {
		t.Logf("console:\n%s", out.String())
	} else {
		// A check on the console may fail after the boot went well: show what it read.
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("console of %s:\n%s", filepath.Base(image), out.String())
			}
		})
	}
	return out.String(), err
}

// mustContain fails unless the console shows every pattern (regular expressions).
func mustContain(t *testing.T, console string, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		if !regexp.MustCompile(p).MatchString(console) {
			t.Errorf("console lacks %q", p)
		}
	}
}

// inOrder fails unless the strings appear in the console in this order.
func inOrder(t *testing.T, console string, texts ...string) {
	t.Helper()
	at := 0
	for _, s := range texts {
		i := strings.Index(console[at:], s)
		if i < 0 {
			t.Errorf("console lacks %q after position %d", s, at)
			return
		}
		at += i + len(s)
	}
}
