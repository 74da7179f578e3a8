package uki

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keel-os/keel/build/uki/ukitest"
)

func testInputs() Inputs {
	return Inputs{
		Stub:      ukitest.Stub(0x1000, 0x200, 5*sectionHeaderSize),
		Kernel:    bytes.Repeat([]byte("kernel"), 1000),
		Initrd:    bytes.Repeat([]byte("initrd"), 777),
		Cmdline:   "console=ttyS0 quiet\n",
		OSRelease: "ID=keel\n",
		Uname:     "6.12.0",
	}
}

func TestBuildAddsEachPartAsASectionHoldingExactlyItsBytes(t *testing.T) {
	in := testInputs()
	out, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	secs, err := Sections(out)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]byte{
		".text": bytes.Repeat([]byte{0xc3}, 100), SectionLinux: in.Kernel, SectionInitrd: in.Initrd,
		SectionCmdline: []byte("console=ttyS0 quiet"), SectionOSRel: []byte(in.OSRelease), SectionUname: []byte("6.12.0"),
	} {
		if !bytes.Equal(secs[name], want) {
			t.Errorf("section %s: %d bytes, want %d", name, len(secs[name]), len(want))
		}
	}
}

func TestSectionsFollowTheStubsAlignedInUkifysOrderWithLinuxLast(t *testing.T) {
	for _, align := range []uint32{0x200, 0x1000} {
		in := testInputs()
		in.Stub = ukitest.Stub(align, 0x200, 5*sectionHeaderSize)
		out, err := Build(in)
		if err != nil {
			t.Fatal(err)
		}
		f, err := pe.NewFile(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		end := uint32(0)
		for i, s := range f.Sections {
			names = append(names, s.Name)
			if s.VirtualAddress%align != 0 || s.Offset%0x200 != 0 || s.Size%0x200 != 0 {
				t.Errorf("align %#x: section %s at VA %#x, file %#x, raw size %#x: unaligned", align, s.Name, s.VirtualAddress, s.Offset, s.Size)
			}
			if i > 0 && s.VirtualAddress < end {
				t.Errorf("align %#x: section %s at VA %#x overlaps the one before (ends %#x)", align, s.Name, s.VirtualAddress, end)
			}
			if s.Characteristics != dataSection && s.Name != ".text" {
				t.Errorf("section %s: characteristics %#x", s.Name, s.Characteristics)
			}
			end = s.VirtualAddress + s.VirtualSize
		}
		if got := strings.Join(names, " "); got != ".text .osrel .cmdline .uname .initrd .linux" {
			t.Errorf("sections %s", got)
		}
		oh := f.OptionalHeader.(*pe.OptionalHeader64)
		if want := uint32(alignUp(uint64(end), uint64(align))); oh.SizeOfImage != want {
			t.Errorf("align %#x: SizeOfImage %#x, want %#x", align, oh.SizeOfImage, want)
		}
		if oh.CheckSum != checksum(out, int(binary.LittleEndian.Uint32(out[peSignatureOffset:]))+4+coffHeaderSize+optCheckSum) || oh.CheckSum == 0 {
			t.Errorf("checksum %#x not updated", oh.CheckSum)
		}
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	a, err := Build(testInputs())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(testInputs())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("two builds of the same inputs differ")
	}
}

func TestBuildLeavesOutUnameAndInitrdWhenEmpty(t *testing.T) {
	in := testInputs()
	in.Uname, in.Initrd = "", nil
	out, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	secs, _ := Sections(out)
	if _, ok := secs[SectionUname]; ok {
		t.Error(".uname present")
	}
	if _, ok := secs[SectionInitrd]; ok {
		t.Error(".initrd present")
	}
}

func TestChecksumMatchesTheKnownValueOfASmallFile(t *testing.T) {
	// Words 0x0201 + 0x0403 (the field at 4..7 skipped) + the length 10.
	b := []byte{1, 2, 3, 4, 0xff, 0xff, 0xff, 0xff, 0, 0}
	if got := checksum(b, 4); got != 0x0201+0x0403+10 {
		t.Errorf("checksum %#x", got)
	}
	// A carry out of 16 bits folds back in.
	b = []byte{0xff, 0xff, 0x02, 0x00, 0, 0, 0, 0}
	if got := checksum(b, 4); got != 0x0002+8 {
		t.Errorf("checksum with carry %#x, want %#x", got, 0x0002+8)
	}
}

func TestAddSectionsRefusesWhatItCannotDoSafely(t *testing.T) {
	stub := ukitest.Stub(0x1000, 0x200, 0)
	for name, tc := range map[string]struct {
		stub []byte
		secs []Section
		want string
	}{
		"no room":   {ukitest.Stub(0x1000, 0x200, 0), []Section{{".a", nil}, {".b", nil}, {".c", nil}, {".d", nil}, {".e", nil}, {".f", nil}, {".g", nil}, {".h", nil}, {".i", nil}, {".j", nil}, {".k", nil}, {".l", nil}}, "no room"},
		"not PE":    {[]byte("#!/bin/sh\n" + strings.Repeat(" ", 100)), []Section{{".a", nil}}, "not a PE file"},
		"long name": {stub, []Section{{".initramfs", nil}}, "1 to 8 bytes"},
		"duplicate": {stub, []Section{{".text", nil}}, "already has"},
		"signed":    {signed(ukitest.Stub(0x1000, 0x200, 80)), []Section{{".a", nil}}, "signed"},
		"truncated": {stub[:0x90], []Section{{".a", nil}}, "no PE signature"},
	} {
		_, err := AddSections(tc.stub, tc.secs)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
}

func signed(b []byte) []byte {
	opt := int(binary.LittleEndian.Uint32(b[peSignatureOffset:])) + 4 + coffHeaderSize
	binary.LittleEndian.PutUint32(b[opt+optDataDirectories+dirSecurity*8:], 0x1234)
	binary.LittleEndian.PutUint32(b[opt+optDataDirectories+dirSecurity*8+4:], 0x100)
	return b
}

func TestStubPathFollowsTheBootFileName(t *testing.T) {
	for boot, want := range map[string]string{
		"BOOTX64.EFI":  "usr/lib/systemd/boot/efi/linuxx64.efi.stub",
		"BOOTAA64.EFI": "usr/lib/systemd/boot/efi/linuxaa64.efi.stub",
	} {
		if got, err := StubPath(boot); err != nil || got != want {
			t.Errorf("StubPath(%s) = %q, %v", boot, got, err)
		}
	}
	if _, err := StubPath(""); err == nil {
		t.Error(`StubPath("") succeeded`)
	}
}

// debianStub is systemd-stub from a keel build's cache ($KEEL_CACHE or ~/.cache/keel), if a
// build fetched it; the test is skipped otherwise.
func debianStub(t *testing.T, name string) []byte {
	t.Helper()
	cache := os.Getenv("KEEL_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "keel")
	}
	p, _ := StubPath(map[string]string{"amd64": "BOOTX64.EFI", "arm64": "BOOTAA64.EFI"}[name])
	data, err := os.ReadFile(filepath.Join(cache, "deb", StubPackage+"_"+name, p))
	if err != nil {
		t.Skipf("no %s systemd-stub in the cache (keel build --format uki fetches it): %v", name, err)
	}
	return data
}

func TestBuildOnDebiansStubKeepsItsSectionsAndAddsOursAfterThem(t *testing.T) {
	for _, name := range []string{"amd64", "arm64"} {
		stub := debianStub(t, name)
		in := testInputs()
		in.Stub = stub
		out, err := Build(in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		orig, err := pe.NewFile(bytes.NewReader(stub))
		if err != nil {
			t.Fatal(err)
		}
		f, err := pe.NewFile(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out[:0x3c], stub[:0x3c]) || len(f.Sections) != len(orig.Sections)+5 {
			t.Errorf("%s: %d sections after %d", name, len(f.Sections), len(orig.Sections))
		}
		origSecs, _ := Sections(stub)
		secs, _ := Sections(out)
		for _, s := range orig.Sections {
			if !bytes.Equal(secs[s.Name], origSecs[s.Name]) {
				t.Errorf("%s: the stub's section %s changed", name, s.Name)
			}
		}
		if !bytes.Equal(secs[SectionLinux], in.Kernel) || !bytes.Equal(secs[SectionInitrd], in.Initrd) {
			t.Errorf("%s: .linux or .initrd differs from its input", name)
		}
		oh := f.OptionalHeader.(*pe.OptionalHeader64)
		last := f.Sections[len(f.Sections)-1]
		if last.Name != SectionLinux || oh.SizeOfImage < last.VirtualAddress+last.VirtualSize || last.VirtualAddress%oh.SectionAlignment != 0 {
			t.Errorf("%s: last section %s at %#x+%#x, SizeOfImage %#x, alignment %#x", name, last.Name, last.VirtualAddress, last.VirtualSize, oh.SizeOfImage, oh.SectionAlignment)
		}
	}
}
