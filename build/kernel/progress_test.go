package kernel

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeClock is a clock a test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

const makeOutput = `  SYNC    include/config/auto.conf
  HOSTCC  scripts/basic/fixdep
  CC      init/main.o
  CC [M]  fs/fat/inode.o
  AS      arch/x86/entry/entry_64.o
  AR      init/built-in.a
  LD      vmlinux.o
fs/fat/inode.c:12: warning:   CC in a message is no compile line
  CC      kernel/fork.o
`

func TestProgressCountsCompileLinesEvenSplitAcrossWrites(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0)}
	var out bytes.Buffer
	p := newProgress(&out, "kernel amd64", false, 100, clock.now)
	// Byte by byte: a line split over writes is counted once, when it ends.
	for i := range len(makeOutput) {
		if n, err := p.Write([]byte(makeOutput[i : i+1])); n != 1 || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if p.done != 4 {
		t.Errorf("counted %d compile lines, want 4 (3 CC, 1 AS)", p.done)
	}
	if out.Len() != 0 {
		t.Errorf("printed before a minute passed: %q", out.String())
	}
}

func TestProgressPrintsALineAMinuteWithTheEstimateAndTimeLeft(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0)}
	var out bytes.Buffer
	p := newProgress(&out, "kernel arm64", false, 1000, clock.now)
	for i := range 250 {
		clock.advance(time.Second / 4) // 250 files in 62.5 s: 750 more take ~3m
		p.Write([]byte("  CC      f" + string(rune('a'+i%26)) + ".o\n"))
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("printed %d lines in 62 s, want 1: %q", len(lines), out.String())
	}
	want := "kernel arm64: compiled 240 of ~1000 files (24%), 1m0s, about 3m10s left"
	if lines[0] != want {
		t.Errorf("line = %q\nwant   %q", lines[0], want)
	}
	p.finish()
	if got := strings.TrimSpace(out.String()); !strings.HasSuffix(got, "kernel arm64: compiled 250 of ~1000 files (25%), 1m3s, about 3m8s left") {
		t.Errorf("final line in %q", got)
	}
}

func TestProgressOnATerminalRedrawsOneLine(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0)}
	var out bytes.Buffer
	p := newProgress(&out, "kernel s390x", true, 0, clock.now)
	for range 3 {
		clock.advance(time.Second)
		p.Write([]byte("  CC      x.o\n"))
	}
	p.finish()
	got := out.String()
	if strings.Count(got, "\n") != 1 || !strings.HasSuffix(got, "\n") {
		t.Errorf("want one line ended once, by finish: %q", got)
	}
	if strings.Count(got, "\r") != 4 || strings.Count(got, "\x1b[K") != 4 {
		t.Errorf("want 3 redraws and the final one: %q", got)
	}
	// No estimate: a count and the time only.
	if !strings.HasSuffix(got, "\rkernel s390x: compiled 3 files, 3s\x1b[K\n") {
		t.Errorf("last redraw in %q", got)
	}
}

func TestProgressPastItsEstimateDropsTheTotal(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0)}
	p := newProgress(&bytes.Buffer{}, "kernel amd64", false, 2, clock.now)
	p.Write([]byte("  CC a.o\n  CC b.o\n  CC c.o\n"))
	if got := p.status(); got != "kernel amd64: compiled 3 files, 0s" {
		t.Errorf("status = %q", got)
	}
}

func TestEstimateIsTheRecordLessTheObjectsAlreadyBuilt(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "build", "abc-amd64")
	if got := estimate(root, "amd64", countObjects(dir)); got != 0 {
		t.Errorf("no record: estimate %d, want 0 (unknown)", got)
	}
	// A cold build records the files it compiled.
	if err := record(root, "amd64", dir, true, 9000); err != nil {
		t.Fatal(err)
	}
	if got := estimate(root, "amd64", countObjects(dir)); got != 9000 {
		t.Errorf("cold: estimate %d, want 9000", got)
	}
	if got := estimate(root, "arm64", countObjects(dir)); got != 0 {
		t.Errorf("another arch: estimate %d, want 0", got)
	}
	// An interrupted build left 2 objects: they are not compiled again.
	for _, f := range []string{"init/main.o", "kernel/fork.o", "kernel/fork.c"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		os.WriteFile(filepath.Join(dir, f), nil, 0o644)
	}
	if got := estimate(root, "amd64", countObjects(dir)); got != 8998 {
		t.Errorf("resumed: estimate %d, want 8998", got)
	}
	// An incremental build does not replace the cold build's record.
	if err := record(root, "amd64", dir, false, 12); err != nil {
		t.Fatal(err)
	}
	if got := readRecord(root, "amd64"); got != 9000 {
		t.Errorf("record after an incremental build = %d, want 9000", got)
	}
	// Without a record, the objects in the build dir make one.
	if err := record(root, "arm64", dir, false, 12); err != nil {
		t.Fatal(err)
	}
	if got := readRecord(root, "arm64"); got != 2 {
		t.Errorf("record from objects = %d, want 2", got)
	}
}

func TestMakeFailureQuotesTheEndOfTheOutputAndNamesTheLog(t *testing.T) {
	dir := t.TempDir()
	mk := maker{src: dir, dir: dir, karch: "x86_64", logFile: filepath.Join(dir, MakeLog)}
	// No Makefile in dir: make fails at once, saying so.
	err := mk.run(t.Context(), "bzImage")
	if err == nil {
		t.Skip("make succeeded without a Makefile")
	}
	if !strings.Contains(err.Error(), "full log: "+mk.logFile) {
		t.Errorf("err = %v, want the log named", err)
	}
	log, rerr := os.ReadFile(mk.logFile)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if !strings.HasPrefix(string(log), "# make -C "+dir) || len(log) < 30 {
		t.Errorf("log = %q", log)
	}
}

func TestTailBufferKeepsTheEnd(t *testing.T) {
	b := &tailBuffer{max: 10}
	for i := range 100 {
		b.Write([]byte{byte('a' + i%26)})
	}
	if len(b.buf) < 10 || len(b.buf) > 20 || !strings.HasSuffix(string(b.buf), "stuv") {
		t.Errorf("buf = %q", b.buf)
	}
}
