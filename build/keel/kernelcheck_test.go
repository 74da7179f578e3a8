package main

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	kernelconfig "github.com/keel-os/keel/kernel-config"
)

// passingConfig is a .config meeting every requirement for arch, plus extra lines.
func passingConfig(arch string, extra ...string) string {
	var b strings.Builder
	b.WriteString("#\n# Linux Kernel Configuration\n#\n")
	for _, r := range kernelconfig.Requirements() {
		if !r.AppliesTo(arch) {
			continue
		}
		if v := r.Satisfying(); v == "n" {
			b.WriteString("# " + r.Symbols[0] + " is not set\n")
		} else {
			b.WriteString(r.Symbols[0] + "=" + v + "\n")
		}
	}
	for _, l := range extra {
		b.WriteString(l + "\n")
	}
	return b.String()
}

func writeTemp(t *testing.T, name, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func kernelCheck(args ...string) (stdout, stderr string, err error) {
	var out, errb bytes.Buffer
	err = kernelCheckCmd(args, &out, &errb)
	return out.String(), errb.String(), err
}

func TestKernelCheckPassesConfigMeetingEveryRequirement(t *testing.T) {
	cfg := writeTemp(t, ".config", passingConfig("amd64"))
	out, _, err := kernelCheck(cfg)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "checking as amd64 (default)") || !strings.Contains(out, "requirements met") {
		t.Errorf("output:\n%s", out)
	}
}

func TestKernelCheckFailsConfigWithoutVethAndSaysWhy(t *testing.T) {
	cfg := writeTemp(t, ".config", strings.Replace(passingConfig("amd64"), "CONFIG_VETH=y\n", "", 1))
	out, _, err := kernelCheck(cfg)
	if err == nil || err == errUsage || !strings.Contains(err.Error(), "1 requirements not met") {
		t.Fatalf("got %v, want a failure", err)
	}
	if !strings.Contains(out, "\ncontainer: CONFIG_VETH: want y or m, got absent") {
		t.Errorf("output:\n%s", out)
	}
}

func TestKernelCheckGuessesArchFromTheConfig(t *testing.T) {
	// An arm64 config has none of the x86 mitigations, which an amd64 check would want.
	cfg := writeTemp(t, ".config", passingConfig("arm64", "CONFIG_ARM64=y"))
	out, _, err := kernelCheck(cfg)
	if err != nil || !strings.Contains(out, "checking as arm64 (from the config)") {
		t.Fatalf("got %v\n%s", err, out)
	}
	_, stderr, err := kernelCheck("--arch", "amd64", cfg)
	if err == nil {
		t.Error("--arch amd64 on an arm64 config passed")
	}
	if !strings.Contains(stderr, "looks like an arm64 config") {
		t.Errorf("stderr: %q", stderr)
	}
}

func TestKernelCheckReadsGzippedConfig(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(passingConfig("s390x", "CONFIG_S390=y")))
	zw.Close()
	cfg := writeTemp(t, "config.gz", buf.String())
	out, _, err := kernelCheck(cfg)
	if err != nil || !strings.Contains(out, "checking as s390x") {
		t.Fatalf("got %v\n%s", err, out)
	}
}

func TestKernelCheckWithFragmentsReportsDroppedSymbols(t *testing.T) {
	cfg := writeTemp(t, ".config", passingConfig("amd64", "# CONFIG_MISC_FILESYSTEMS is not set"))
	frag := writeTemp(t, "broken.config", "# CONFIG_MISC_FILESYSTEMS is not set\nCONFIG_SQUASHFS=y\n# CONFIG_KEXEC is not set\n")
	out, _, err := kernelCheck("--fragments", frag, cfg)
	if err == nil || !strings.Contains(err.Error(), "1 requested values dropped") {
		t.Fatalf("got %v, want one dropped value\n%s", err, out)
	}
	if !strings.Contains(out, frag+":2: CONFIG_SQUASHFS=y requested, but olddefconfig dropped it (absent)") {
		t.Errorf("output:\n%s", out)
	}
}

func TestKernelCheckWithKeelFragmentsChecksTheEmbeddedOnes(t *testing.T) {
	cfg := writeTemp(t, ".config", passingConfig("amd64"))
	out, _, err := kernelCheck("--keel", cfg)
	// The synthetic config lacks most of what the fragments ask for.
	if err == nil || !strings.Contains(out, "common.config:") || !strings.Contains(out, "amd64.config:") {
		t.Fatalf("got %v\n%s", err, out)
	}
}

func TestKernelCheckRejectsBadUsage(t *testing.T) {
	cfg := writeTemp(t, ".config", passingConfig("amd64"))
	if _, _, err := kernelCheck(); err != errUsage {
		t.Errorf("no CONFIG: got %v, want errUsage", err)
	}
	if _, _, err := kernelCheck(cfg, cfg); err != errUsage {
		t.Errorf("two CONFIGs: got %v, want errUsage", err)
	}
	if _, _, err := kernelCheck("--arch", "riscv64", cfg); err == nil || !strings.Contains(err.Error(), "riscv64") {
		t.Errorf("unknown arch: got %v", err)
	}
	bad := writeTemp(t, "bad.config", "CONFIG_A=y\nCONFIG_B = y\n")
	if _, _, err := kernelCheck("--fragments", bad, cfg); err == nil || !strings.Contains(err.Error(), bad+":2:") {
		t.Errorf("malformed fragment: got %v, want file:line", err)
	}
}
