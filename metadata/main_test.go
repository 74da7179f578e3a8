package main

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunWritesTheTreeFromTheFirstProviderThatAnswers(t *testing.T) {
	dir := t.TempDir()
	ud := filepath.Join(dir, "ud")
	if err := os.WriteFile(ud, []byte("#cloud-config\nhostname: from-file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "config")
	var stderr bytes.Buffer
	var host string
	code := run([]string{"-config", cfg, "file=" + filepath.Join(dir, "missing"), "file=" + ud}, &stderr,
		func(h string) error { host = h; return nil })
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	got := files(t, cfg)
	if got["provider"] != "file" || got["hostname"] != "from-file" || host != "from-file" {
		t.Errorf("files %v, hostname set %q", got, host)
	}
	if !strings.Contains(stderr.String(), "metadata: file: not present") {
		t.Errorf("the missing file is not reported: %s", stderr.String())
	}
}

func TestRunExitsZeroWhenNoProviderAnswers(t *testing.T) {
	dir := t.TempDir()
	var stderr bytes.Buffer
	code := run([]string{"-config", filepath.Join(dir, "config"), "file=" + filepath.Join(dir, "none")}, &stderr,
		func(string) error { t.Error("hostname set"); return nil })
	if code != 0 || !strings.Contains(stderr.String(), "no provider answered") {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "config")); err == nil {
		t.Error("config dir made with nothing to write")
	}
}

func TestRunRefusesUnknownProvidersAndURLs(t *testing.T) {
	for _, args := range [][]string{{"ec2"}, {"-url", "nowhere=http://x", "aws"}, {"file="}} {
		var stderr bytes.Buffer
		if code := run(args, &stderr, func(string) error { return nil }); code != 2 {
			t.Errorf("%q: exit %d, want 2: %s", args, code, stderr.String())
		}
	}
}

func TestRunReadsAProviderAtTheURLGivenByFlagOrEnvironment(t *testing.T) {
	s := &imds{uses: 100}
	srv := httptest.NewServer(s)
	defer srv.Close()
	for _, viaEnv := range []bool{false, true} {
		cfg := filepath.Join(t.TempDir(), "config")
		args := []string{"-config", cfg}
		if viaEnv {
			t.Setenv("METADATA_URL_AWS", srv.URL)
		} else {
			args = append(args, "-url", "aws="+srv.URL)
		}
		var stderr bytes.Buffer
		if code := run(append(args, "aws"), &stderr, func(string) error { return nil }); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		got := files(t, cfg)
		if got["provider"] != "AWS" || got["instance_id"] != "i-0abc" || got["region"] != "eu-west-1" ||
			got["ssh/authorized_keys"] != "ssh-ed25519 AAAA key0\n" || got["hostname"] != "web" {
			t.Errorf("env %v: files %v", viaEnv, got)
		}
	}
}

// LinuxKit's files run metadata -v: the flag is accepted.
func TestRunAcceptsLinuxKitsVerboseFlag(t *testing.T) {
	dir := t.TempDir()
	var stderr bytes.Buffer
	code := run([]string{"-v", "-config", filepath.Join(dir, "config"), "file=" + filepath.Join(dir, "none")}, &stderr,
		func(string) error { return nil })
	if code != 0 || !strings.Contains(stderr.String(), "file: ") {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
}
