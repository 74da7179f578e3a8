package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"golang.org/x/sys/unix"
)

func TestHeaderIsWhatMkswapWrites(t *testing.T) {
	if _, err := exec.LookPath("mkswap"); err != nil {
		t.Skip("no mkswap (util-linux)")
	}
	const size = 8 << 20
	page := os.Getpagesize()
	p := filepath.Join(t.TempDir(), "swap")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, size); err != nil {
		t.Fatal(err)
	}
	id := uuid.MustParse("7c1e5a3f-2b9d-4e6a-8f10-3a5b7c9d1e2f")
	if out, err := exec.Command("mkswap", "-U", id.String(), "-L", "keel", p).CombinedOutput(); err != nil {
		t.Fatalf("mkswap: %v\n%s", err, out)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	want := data[:page]
	got, err := header(size, page, id, "keel")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("header differs from mkswap's at byte %d: %#x, want %#x", i, got[i], want[i])
			}
		}
	}
}

func TestHeaderFields(t *testing.T) {
	h, err := header(1<<20, 4096, [16]byte{1, 2}, "")
	if err != nil {
		t.Fatal(err)
	}
	o := binary.NativeEndian
	if v, last := o.Uint32(h[1024:]), o.Uint32(h[1028:]); v != 1 || last != 255 {
		t.Errorf("version %d, last page %d; want 1, 255", v, last)
	}
	if string(h[4096-10:]) != "SWAPSPACE2" || h[1036] != 1 || h[1037] != 2 {
		t.Errorf("magic %q, uuid % x", h[4096-10:], h[1036:1052])
	}
	for _, c := range []struct {
		size  int64
		label string
	}{{9 * 4096, ""}, {1 << 20, "seventeen-letters"}} {
		if _, err := header(c.size, 4096, [16]byte{}, c.label); err == nil {
			t.Errorf("header(%d, %q) succeeded", c.size, c.label)
		}
	}
}

// fakeSwapper records swapon calls; fail makes the first ones fail with it.
func fakeSwapper(t *testing.T, fail ...error) (*swapper, *[]string, *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	swaps := filepath.Join(dir, "swaps")
	if err := os.WriteFile(swaps, []byte("Filename\tType\tSize\tUsed\tPriority\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	info := filepath.Join(dir, "mountinfo")
	if err := os.WriteFile(info, []byte("40 22 254:1 / /var/lib/data rw shared:5 - ext4 /dev/vdb1 rw\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var calls []string
	out := &bytes.Buffer{}
	s := &swapper{out: out, swaps: swaps, mountinfo: info, swapon: func(path string) error {
		calls = append(calls, path)
		if len(fail) > 0 {
			err := fail[0]
			fail = fail[1:]
			return err
		}
		return nil
	}}
	return s, &calls, out
}

func TestSwapCreatesTheFileOnceAndTurnsItOn(t *testing.T) {
	s, calls, out := fakeSwapper(t)
	p := filepath.Join(t.TempDir(), "var", "swapfile")
	if err := s.swap(p, 4<<20+123); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != 4<<20 || fi.Mode().Perm() != 0o600 {
		t.Errorf("swap file: %d bytes, mode %v; want 4 MiB (whole pages), 0600", fi.Size(), fi.Mode())
	}
	if !hasHeader(p, 4<<20, os.Getpagesize()) || len(*calls) != 1 || !strings.Contains(out.String(), "on (4 MiB)") {
		t.Errorf("header %v, swapon calls %q\n%s", hasHeader(p, 4<<20, os.Getpagesize()), *calls, out)
	}
	first, _ := os.ReadFile(p)
	// the next boot reuses the file as it is
	if err := s.swap(p, 4<<20); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(p); !bytes.Equal(first[:4096], again[:4096]) {
		t.Error("the header was written again")
	}
}

func TestSwapDoesNothingForAnActiveSwapFile(t *testing.T) {
	s, calls, out := fakeSwapper(t)
	if err := os.WriteFile(s.swaps, []byte("Filename\tType\tSize\tUsed\tPriority\n/var/my\\040swap file 4092 0 -2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.swap("/var/my swap", 4<<20); err != nil || len(*calls) != 0 || !strings.Contains(out.String(), "already in use") {
		t.Errorf("swap = %v, calls %q\n%s", err, *calls, out)
	}
}

func TestSwapWritesZerosWhenTheKernelRefusesPreallocatedBlocks(t *testing.T) {
	s, calls, _ := fakeSwapper(t, unix.EINVAL)
	p := filepath.Join(t.TempDir(), "swapfile")
	if err := s.swap(p, 1<<20); err != nil {
		t.Fatal(err)
	}
	if len(*calls) != 2 || !hasHeader(p, 1<<20, os.Getpagesize()) {
		t.Errorf("swapon calls %q, header %v", *calls, hasHeader(p, 1<<20, os.Getpagesize()))
	}
}

func TestSwapReportsOtherSwaponErrors(t *testing.T) {
	s, _, _ := fakeSwapper(t, unix.EPERM)
	if err := s.swap(filepath.Join(t.TempDir(), "swapfile"), 1<<20); err == nil {
		t.Error("swap succeeded although swapon failed")
	}
}

func TestConditionsSkipOrFail(t *testing.T) {
	for _, c := range []struct {
		cond string
		code int
		say  string
	}{
		{"part:/var/lib/other", 0, "is not a mount point"},
		{"part:/var/lib/other:true", 1, "is not a mount point"},
		{"partsize:/:99999T", 0, "holds"},
		{"partsize:/:99999T:true", 1, "holds"},
	} {
		s, calls, out := fakeSwapper(t)
		code := s.run([]string{"-path", "/var/swap", "-size", "1M", "-condition", c.cond})
		if code != c.code || !strings.Contains(out.String(), c.say) || len(*calls) != 0 {
			t.Errorf("%s: exit %d, calls %q\n%s", c.cond, code, *calls, out)
		}
	}
}

func TestConditionsThatHoldLetTheSwapFileBeMade(t *testing.T) {
	s, _, _ := fakeSwapper(t)
	for _, cond := range []string{"part:/var/lib/data", "partsize:/:1K"} {
		c, err := parseCondition(cond)
		if err != nil {
			t.Fatal(err)
		}
		if ok, why, err := s.holds(c); !ok || err != nil {
			t.Errorf("%s: %v (%s), %v", cond, ok, why, err)
		}
	}
}

func TestParseRejectsBadOptions(t *testing.T) {
	for _, args := range [][]string{
		{"-size", "1M"}, {"-path", "/var/swap"}, {"-path", "/swap", "-size", "1M"}, {"-path", "/var/../etc/x", "-size", "1M"},
		{"-path", "/var/swap", "-size", "lots"}, {"-path", "/var/swap", "-size", "1M", "-encrypt"},
		{"-path", "/var/swap", "-size", "1M", "-condition", "disk:/var"}, {"-path", "/var/swap", "-size", "1M", "-condition", "partsize:/var"},
	} {
		if _, err := parse(args, &bytes.Buffer{}); err == nil {
			t.Errorf("parse(%q) succeeded", args)
		}
	}
	o, err := parse([]string{"--path", "/var/swapfile", "--size", "256M", "--condition", "part:/var"}, &bytes.Buffer{})
	if err != nil || o.size != 256<<20 || o.path != "/var/swapfile" || len(o.conditions) != 1 {
		t.Errorf("parse(LinuxKit's --flags) = %+v, %v", o, err)
	}
}
