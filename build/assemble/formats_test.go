package assemble

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/keel-os/keel/build/disk"
	"github.com/keel-os/keel/build/uki"
	"github.com/keel-os/keel/build/uki/ukitest"
	"github.com/keel-os/keel/guest"
	"github.com/keel-os/keel/rootfs/squashfs"
	"github.com/keel-os/keel/rootfs/tree"
)

func TestCheckFormatsAcceptsEveryFormatOnAMD64AndARM64(t *testing.T) {
	if err := CheckFormats(Formats(), "amd64"); err != nil {
		t.Errorf("amd64: %v", err)
	}
	var arm []string
	for _, f := range Formats() {
		if f != FormatISOBIOS && f != FormatRawBIOS && f != FormatQCOW2BIOS {
			arm = append(arm, f)
		}
	}
	if err := CheckFormats(arm, "arm64"); err != nil {
		t.Errorf("arm64: %v", err)
	}
	if err := CheckFormats([]string{FormatKernelInitrd, FormatKernelSquashfs, FormatTar}, "s390x"); err != nil {
		t.Errorf("s390x: %v", err)
	}
}

func TestCheckFormatsRefusesWhatItCannotBuildSayingWhy(t *testing.T) {
	for _, tc := range []struct {
		formats []string
		arch    string
		want    []string
	}{
		{[]string{"kernel+initrd", "bogus"}, "amd64", []string{`unknown format "bogus"`, "raw-efi", "vmdk"}},
		{[]string{"raw-bios"}, "arm64", []string{"raw-bios", "PC BIOS"}},
		{[]string{"iso-bios"}, "arm64", []string{"iso-bios", "PC BIOS", "use iso-efi"}},
		{[]string{"raw-efi"}, "s390x", []string{"raw-efi", "UEFI", "s390x builds kernel+initrd, kernel+squashfs and tar"}},
		{[]string{"uki"}, "s390x", []string{"uki", "s390x builds kernel+initrd, kernel+squashfs and tar"}},
		{[]string{"tar", "tar"}, "amd64", []string{"tar given twice"}},
		{[]string{"tar"}, "mips", []string{`unsupported arch "mips"`}},
	} {
		err := CheckFormats(tc.formats, tc.arch)
		if err == nil {
			t.Errorf("%v on %s: no error", tc.formats, tc.arch)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v on %s: error %q lacks %q", tc.formats, tc.arch, err, w)
			}
		}
	}
}

func TestBootCmdlineEndsWithTheSerialConsoleAndAddsTheScreenWhenNoneIsNamed(t *testing.T) {
	for _, tc := range []struct{ line, console, want string }{
		{"quiet", "ttyS0", "quiet console=tty0 console=ttyS0"},
		{"", "ttyAMA0", "console=tty0 console=ttyAMA0"},
		{"console=ttyS0 quiet", "ttyS0", "console=ttyS0 quiet"},
		{"console=ttyS0,115200 quiet", "ttyS0", "console=ttyS0,115200 quiet"},
		{"console=ttyS0 quiet", "ttyAMA0", "console=ttyS0 quiet console=ttyAMA0"},
		{"console=tty0", "ttyS0", "console=tty0 console=ttyS0"},
	} {
		if got := BootCmdline(tc.line, tc.console); got != tc.want {
			t.Errorf("BootCmdline(%q, %s) = %q, want %q", tc.line, tc.console, got, tc.want)
		}
	}
}

func bootOptions(dir string, formats ...string) WriteOptions {
	return WriteOptions{
		Dir: dir, Name: "m", Formats: formats, Arch: "amd64",
		EFIStub:  ukitest.Stub(0x1000, 0x200, 400),
		ISOLinux: bytes.Repeat([]byte{0x90}, 4096), LDLinux: []byte("ldlinux.c32"),
		MBR: bytes.Repeat([]byte{0xfa}, 440),
	}
}

func TestUKIHoldsTheKernelInitrdAndCmdlineOfTheMachine(t *testing.T) {
	out := assembleCase(t, "testdata/machine.yml", machineImages(t))
	out.UCode = []byte("070701 microcode cpio")
	dir := t.TempDir()
	paths, err := Write(out, bootOptions(dir, FormatKernelInitrd, FormatUKI, FormatRawEFI))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"m-kernel", "m-initrd.img", "m-cmdline", "m-uki.efi", "m-efi.raw"}; len(paths) != len(want) {
		t.Fatalf("paths %q, want %q", paths, want)
	}
	data, err := os.ReadFile(filepath.Join(dir, "m-uki.efi"))
	if err != nil {
		t.Fatal(err)
	}
	secs, err := uki.Sections(data)
	if err != nil {
		t.Fatal(err)
	}
	initrd, _ := os.ReadFile(filepath.Join(dir, guest.InitrdFile("m")))
	for name, want := range map[string][]byte{
		uki.SectionLinux:   out.Kernel,
		uki.SectionInitrd:  initrd,
		uki.SectionCmdline: []byte("console=ttyS0 quiet"),
	} {
		if !bytes.Equal(secs[name], want) {
			t.Errorf("section %s: %d bytes, want %d (%.40q)", name, len(secs[name]), len(want), want)
		}
	}
	if !bytes.HasPrefix(initrd, out.UCode) {
		t.Error("the initramfs does not start with the microcode")
	}
	if !strings.Contains(string(secs[uki.SectionOSRel]), "ID=keel") {
		t.Errorf(".osrel %q", secs[uki.SectionOSRel])
	}
	// The raw disk's ESP holds the same UKI at the removable-media path.
	b, err := file.OpenFromPath(filepath.Join(dir, "m-efi.raw"), true)
	if err != nil {
		t.Fatal(err)
	}
	d, err := diskfs.OpenBackend(b, diskfs.WithOpenMode(diskfs.ReadOnly))
	if err != nil {
		t.Fatal(err)
	}
	fs, err := d.GetFilesystem(1)
	if err != nil {
		t.Fatal(err)
	}
	onDisk, err := fs.ReadFile("/EFI/BOOT/BOOTX64.EFI")
	if err != nil || !bytes.Equal(onDisk, data) {
		t.Errorf("EFI/BOOT/BOOTX64.EFI: %d bytes, %v; want the UKI's %d", len(onDisk), err, len(data))
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 5 {
		t.Errorf("the output directory holds %d entries, want the 5 outputs and no temporary files", len(ents))
	}
}

func TestEveryBootableFormatIsByteIdenticalForTheSameInputs(t *testing.T) {
	formats := []string{FormatUKI, FormatRawEFI, FormatISOEFI, FormatISOBIOS}
	_, noQEMUImg := exec.LookPath(disk.QEMUImg)
	if noQEMUImg == nil {
		formats = append(formats, FormatQCOW2EFI, FormatVHD, FormatVMDK)
	}
	if _, err := exec.LookPath(squashfs.Command); err == nil {
		formats = append(formats, FormatKernelSquashfs)
	}
	if _, err := exec.LookPath(disk.Syslinux); err == nil {
		formats = append(formats, FormatRawBIOS)
		if noQEMUImg == nil {
			formats = append(formats, FormatQCOW2BIOS)
		}
	}
	build := func() string {
		out := assembleCase(t, "testdata/machine.yml", machineImages(t))
		dir := t.TempDir()
		opts := bootOptions(dir, formats...)
		opts.DiskSize = 64 * disk.MiB
		if _, err := Write(out, opts); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	a := build()
	time.Sleep(1100 * time.Millisecond)
	b := build()
	ents, _ := os.ReadDir(a)
	want := len(formats)
	if slices.Contains(formats, FormatKernelSquashfs) {
		want += 2 // its kernel and cmdline
	}
	if len(ents) != want {
		t.Errorf("%d outputs for %d formats", len(ents), len(formats))
	}
	for _, e := range ents {
		da, _ := os.ReadFile(filepath.Join(a, e.Name()))
		db, _ := os.ReadFile(filepath.Join(b, e.Name()))
		if !bytes.Equal(da, db) {
			at := min(len(da), len(db))
			for i := range at {
				if da[i] != db[i] {
					at = i
					break
				}
			}
			t.Errorf("%s differs between two builds (%d and %d bytes, first at byte %d)", e.Name(), len(da), len(db), at)
		}
	}
}

func TestRawBIOSBootsTheSameKernelInitrdAndCmdline(t *testing.T) {
	if _, err := exec.LookPath(disk.Syslinux); err != nil {
		t.Skip("no syslinux (Debian's syslinux and mtools)")
	}
	out := assembleCase(t, "testdata/machine.yml", machineImages(t))
	dir := t.TempDir()
	if _, err := Write(out, bootOptions(dir, FormatKernelInitrd, FormatRawBIOS)); err != nil {
		t.Fatal(err)
	}
	b, err := file.OpenFromPath(filepath.Join(dir, "m-bios.raw"), true)
	if err != nil {
		t.Fatal(err)
	}
	d, err := diskfs.OpenBackend(b, diskfs.WithOpenMode(diskfs.ReadOnly))
	if err != nil {
		t.Fatal(err)
	}
	fs, err := d.GetFilesystem(1)
	if err != nil {
		t.Fatal(err)
	}
	initrd, _ := os.ReadFile(filepath.Join(dir, guest.InitrdFile("m")))
	for name, want := range map[string][]byte{"/vmlinuz": out.Kernel, "/initrd.img": initrd} {
		if got, err := fs.ReadFile(name); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, %v; want %d", name, len(got), err, len(want))
		}
	}
	if cfg, err := fs.ReadFile("/syslinux.cfg"); err != nil || !strings.Contains(string(cfg), "APPEND console=ttyS0 quiet\n") {
		t.Errorf("syslinux.cfg %q, %v", cfg, err)
	}
}

func TestCloudFormatsAreWholeGiBDisks(t *testing.T) {
	out := assembleCase(t, "testdata/machine.yml", machineImages(t))
	dir := t.TempDir()
	if _, err := Write(out, bootOptions(dir, FormatAWS)); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "m-aws.raw"))
	if err != nil || st.Size() != 1<<30 {
		t.Errorf("m-aws.raw: %v, %v; want 1 GiB", st, err)
	}
}

func TestBootableFormatsNeedAKernelAndTheStub(t *testing.T) {
	out := assembleCase(t, "testdata/machine.yml", machineImages(t))
	opts := bootOptions(t.TempDir(), FormatUKI)
	opts.EFIStub = nil
	if _, err := Write(out, opts); err == nil || !strings.Contains(err.Error(), "systemd-stub") {
		t.Errorf("no stub: %v", err)
	}
	out.Kernel = nil
	if _, err := Write(out, bootOptions(t.TempDir(), FormatRawEFI)); err == nil || !strings.Contains(err.Error(), "kernel") {
		t.Errorf("no kernel: %v", err)
	}
}

func TestKernelSquashfsWritesTheRootAsSquashfsBesideTheKernelAndCmdlineOfKernelInitrd(t *testing.T) {
	if _, err := exec.LookPath("unsquashfs"); err != nil {
		t.Skip("unsquashfs not installed (squashfs-tools)")
	}
	out := assembleCase(t, "testdata/machine.yml", machineImages(t))
	dir := t.TempDir()
	paths, err := Write(out, bootOptions(dir, FormatKernelInitrd, FormatKernelSquashfs))
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "m")
	want := []string{guest.KernelFile(name), guest.InitrdFile(name), guest.CmdlineFile(name), guest.SquashfsFile(name)}
	slices.Sort(paths)
	slices.Sort(want)
	if !slices.Equal(paths, want) {
		t.Errorf("paths %v, want %v (each once)", paths, want)
	}
	list, err := exec.Command("unsquashfs", "-lln", guest.SquashfsFile(name)).CombinedOutput()
	if err != nil {
		t.Fatalf("unsquashfs: %v\n%s", err, list)
	}
	var files int
	if err := out.Root.Walk(func(p string, n *tree.Node) error {
		files++
		if !strings.Contains(string(list), "squashfs-root/"+p) {
			t.Errorf("the squashfs lacks %s", p)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if files < 10 {
		t.Errorf("only %d entries in the root", files)
	}
}
