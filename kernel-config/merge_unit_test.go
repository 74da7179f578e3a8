package kernelconfig

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// fakeMergeConfig is a stand-in scripts/kconfig/merge_config.sh: it records how it was run
// in $KCONFIG_CONFIG.run and writes a one-line .config, or fails when KEEL_FAKE_FAIL is set.
const fakeMergeConfig = `#!/bin/sh
if [ -n "$KEEL_FAKE_FAIL" ]; then
	i=0
	while [ $i -lt 100 ]; do echo "noise $i"; i=$((i+1)); done
	echo "the last words" >&2
	exit 2
fi
{
	echo "pwd=$(pwd)"
	for a in "$@"; do echo "arg=$a"; done
	echo "KCONFIG_CONFIG=$KCONFIG_CONFIG"
	echo "ARCH=$ARCH"
	echo "CROSS_COMPILE=$CROSS_COMPILE"
	echo "MAKEFLAGS=${MAKEFLAGS-unset}"
} >"$KCONFIG_CONFIG.run"
echo CONFIG_A=y >"$KCONFIG_CONFIG"
`

func fakeSource(t *testing.T) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("needs sh")
	}
	src := t.TempDir()
	dir := filepath.Join(src, "scripts", "kconfig")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "merge_config.sh"), []byte(fakeMergeConfig), 0o755); err != nil {
		t.Fatal(err)
	}
	return src
}

func TestMergeRunsMergeConfigInTheSourceTreeWithArchAndOutputDir(t *testing.T) {
	src := fakeSource(t)
	build := filepath.Join(t.TempDir(), "not", "yet")
	t.Setenv("MAKEFLAGS", "-j99") // an outer make's flags must not reach the kernel's make
	t.Setenv("ARCH", "mips")
	frags := []Fragment{
		{Name: "common.config", Data: []byte("CONFIG_A=y\n")},
		{Name: "amd64.config", Data: []byte("CONFIG_B=y\n")},
		{Name: "/somewhere/else/common.config", Data: []byte("CONFIG_C=y\n")},
		{Name: "my extra.config", Data: []byte("CONFIG_D=y\n")},
	}
	if err := Merge(context.Background(), src, build, "x86_64", "x86_64-linux-gnu-", frags); err != nil {
		t.Fatal(err)
	}
	run, err := os.ReadFile(filepath.Join(build, ".config.run"))
	if err != nil {
		t.Fatal(err)
	}
	fdir := filepath.Join(build, "keel-fragments")
	want := strings.Join([]string{
		"pwd=" + src,
		"arg=-n", "arg=-O", "arg=" + build,
		"arg=" + filepath.Join(fdir, "common.config"),
		"arg=" + filepath.Join(fdir, "amd64.config"),
		"arg=" + filepath.Join(fdir, "02-common.config"),
		"arg=" + filepath.Join(fdir, "my_extra.config"),
		"KCONFIG_CONFIG=" + filepath.Join(build, ".config"),
		"ARCH=x86_64",
		"CROSS_COMPILE=x86_64-linux-gnu-",
		"MAKEFLAGS=unset",
	}, "\n") + "\n"
	if string(run) != want {
		t.Errorf("merge_config.sh ran as\n%s\nwant\n%s", run, want)
	}
	for name, data := range map[string]string{"common.config": "CONFIG_A=y\n", "02-common.config": "CONFIG_C=y\n"} {
		got, err := os.ReadFile(filepath.Join(fdir, name))
		if err != nil || string(got) != data {
			t.Errorf("%s: got %q, %v; want %q", name, got, err, data)
		}
	}
	if _, err := os.Stat(filepath.Join(build, "merge_config.log")); err != nil {
		t.Errorf("no log: %v", err)
	}
}

func TestMergeErrorQuotesTheEndOfTheOutput(t *testing.T) {
	src := fakeSource(t)
	t.Setenv("KEEL_FAKE_FAIL", "1")
	err := Merge(context.Background(), src, t.TempDir(), "arm64", "aarch64-linux-gnu-", []Fragment{{Name: "a.config"}})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"merge_config.sh", "ARCH=arm64", "exit status 2", "noise 99", "the last words"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "noise 0\n") {
		t.Errorf("error quotes the whole output, not its end:\n%s", msg)
	}
}

func TestMergeRejectsADirectoryThatIsNotAKernelTree(t *testing.T) {
	dir := t.TempDir()
	err := Merge(context.Background(), dir, t.TempDir(), "x86_64", "", []Fragment{{Name: "a.config"}})
	if err == nil || !strings.Contains(err.Error(), "not a Linux source tree") {
		t.Errorf("got %v", err)
	}
}

func TestMergeNeedsFragmentsAndArch(t *testing.T) {
	src := fakeSource(t)
	if err := Merge(context.Background(), src, t.TempDir(), "x86_64", "", nil); err == nil {
		t.Error("no error without fragments")
	}
	if err := Merge(context.Background(), src, t.TempDir(), "", "", []Fragment{{Name: "a.config"}}); err == nil {
		t.Error("no error without ARCH")
	}
}

func TestMergeRejectsWhitespaceInPathsMergeConfigWouldSplit(t *testing.T) {
	src := fakeSource(t)
	err := Merge(context.Background(), src, filepath.Join(t.TempDir(), "a b"), "x86_64", "", []Fragment{{Name: "a.config"}})
	if err == nil || !strings.Contains(err.Error(), "whitespace") {
		t.Errorf("got %v", err)
	}
}
