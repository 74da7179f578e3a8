package kernelconfig

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const sampleConfig = `#
# Automatically generated file; DO NOT EDIT.
# Linux/x86 6.12.0 Kernel Configuration
#
CONFIG_CC_VERSION_TEXT="gcc (Debian 12.2.0-14) 12.2.0"
CONFIG_GCC_VERSION=120200
CONFIG_LOCALVERSION="-keel \"quoted\""
CONFIG_X86_64=y
CONFIG_VETH=m
# CONFIG_KEXEC is not set
CONFIG_PHYSICAL_START=0x1000000
CONFIG_ILLEGAL_POINTER_VALUE=0xdead000000000000
CONFIG_RCU_CPU_STALL_TIMEOUT=-1

# end of General setup
`

func TestParseConfigReadsEveryKindOfValue(t *testing.T) {
	cfg, err := ParseConfig(strings.NewReader(sampleConfig))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		"CONFIG_CC_VERSION_TEXT":       `"gcc (Debian 12.2.0-14) 12.2.0"`,
		"CONFIG_GCC_VERSION":           "120200",
		"CONFIG_LOCALVERSION":          `"-keel \"quoted\""`,
		"CONFIG_X86_64":                "y",
		"CONFIG_VETH":                  "m",
		"CONFIG_KEXEC":                 "n",
		"CONFIG_PHYSICAL_START":        "0x1000000",
		"CONFIG_ILLEGAL_POINTER_VALUE": "0xdead000000000000",
		"CONFIG_RCU_CPU_STALL_TIMEOUT": "-1",
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got %v\nwant %v", cfg, want)
	}
}

func TestParseConfigKeepsTheLastOfTwoAssignments(t *testing.T) {
	cfg, err := ParseConfig(strings.NewReader("CONFIG_A=y\n# CONFIG_A is not set\nCONFIG_B=m\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg["CONFIG_A"] != "n" || cfg["CONFIG_B"] != "m" {
		t.Errorf("got %v, want A=n (last wins) and B=m (CRLF line)", cfg)
	}
}

func TestParseConfigSkipsCommentsThatAreNotAssignments(t *testing.T) {
	in := "# CONFIG_EXPERT is on so that hardening can be turned off\n# CONFIG_FOO=y\n#CONFIG_BAR is not set\n\n   \n"
	cfg, err := ParseConfig(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg) != 0 {
		t.Errorf("got %v, want nothing", cfg)
	}
}

func TestParseConfigErrorNamesTheLine(t *testing.T) {
	_, err := ParseConfig(strings.NewReader("CONFIG_A=y\nCONFIG_B\n"))
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 2 || pe.File != "" {
		t.Fatalf("got %v, want a ParseError for line 2", err)
	}
	if !strings.HasPrefix(err.Error(), "line 2: ") {
		t.Errorf("error %q does not start with the line", err)
	}
}

func TestParseFragmentGivesSymbolValueFileAndLineOfEachRequest(t *testing.T) {
	f := Fragment{Name: "x.config", Data: []byte("# comment\nCONFIG_A=y\n\n# CONFIG_B is not set\nCONFIG_C=\"s\"\n")}
	reqs, err := ParseFragment(f)
	if err != nil {
		t.Fatal(err)
	}
	want := []Request{
		{Symbol: "CONFIG_A", Value: "y", File: "x.config", Line: 2},
		{Symbol: "CONFIG_B", Value: "n", File: "x.config", Line: 4},
		{Symbol: "CONFIG_C", Value: `"s"`, File: "x.config", Line: 5},
	}
	if !reflect.DeepEqual(reqs, want) {
		t.Errorf("got %+v\nwant %+v", reqs, want)
	}
	if s := reqs[1].String(); s != "# CONFIG_B is not set" {
		t.Errorf("String() = %q", s)
	}
}

func TestParseFragmentRejectsMalformedLinesNamingFileAndLine(t *testing.T) {
	for _, line := range []string{
		"CONFIG_A",               // no value
		"CONFIG_A = y",           // spaces around =
		"CONFIG_A=",              // empty
		"CONFIG_A=yes",           // not y, m or n
		"CONFIG_A=Y",             // Kconfig takes it, but the .config says y
		"CONFIG_A=y ",            // trailing space: Kconfig ignores the line
		`CONFIG_A="open`,         // unterminated string
		`CONFIG_A="a"b`,          // text after the string
		"CONFIG_A=0x",            // no hex digits
		"A=y",                    // no CONFIG_ prefix
		" CONFIG_A=y",            // indented: Kconfig ignores it
		"CONFIG_A-B=y",           // bad name
		"# CONFIG_A is not set.", // Kconfig takes it, merge_config.sh does not
	} {
		f := Fragment{Name: "dir/bad.config", Data: []byte("CONFIG_OK=y\n# fine\n" + line + "\n")}
		_, err := ParseFragment(f)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%q: got %v, want a ParseError", line, err)
			continue
		}
		if pe.File != "dir/bad.config" || pe.Line != 3 || pe.Text != line {
			t.Errorf("%q: got %+v", line, pe)
		}
		if !strings.HasPrefix(err.Error(), "dir/bad.config:3: ") {
			t.Errorf("%q: error %q does not start with file:line", line, err)
		}
	}
}

func TestReadConfigFileReadsGzippedConfig(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(sampleConfig))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.gz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := ReadConfigFile(path)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := ParseConfig(strings.NewReader(sampleConfig))
	if !reflect.DeepEqual(cfg, plain) {
		t.Errorf("got %v, want %v", cfg, plain)
	}
}

func TestReadConfigFileErrorsNameThePath(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, ".config")
	if err := os.WriteFile(bad, []byte("CONFIG_A=y\nnonsense\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadConfigFile(bad); err == nil || !strings.HasPrefix(err.Error(), bad+":2: ") {
		t.Errorf("got %v, want an error starting %s:2:", err, bad)
	}
	missing := filepath.Join(dir, "missing")
	if _, err := ReadConfigFile(missing); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("got %v, want a not-exist error naming %s", err, missing)
	}
	corrupt := filepath.Join(dir, "config.gz")
	if err := os.WriteFile(corrupt, []byte{0x1f, 0x8b, 0, 1, 2}, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadConfigFile(corrupt); err == nil || !strings.Contains(err.Error(), corrupt) {
		t.Errorf("got %v, want an error naming %s", err, corrupt)
	}
}
