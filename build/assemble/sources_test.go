package assemble

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/keel-os/keel/guest"
)

func TestAssembleListsEverySourceImageOnceByReferenceWithItsTree(t *testing.T) {
	imgs := machineImages(t)
	out := assembleCase(t, "testdata/machine.yml", imgs)
	var refs []string
	for _, s := range out.Sources {
		refs = append(refs, s.Ref)
		if s.Tree == nil || s.Image != imgs.m[s.Ref] {
			t.Errorf("source %q: tree %p, image %v", s.Ref, s.Tree, s.Image)
		}
	}
	if !slices.IsSorted(refs) || len(slices.Compact(slices.Clone(refs))) != len(refs) {
		t.Errorf("sources %q are not sorted and unique", refs)
	}
	for _, want := range []string{"keel/kernel:test", "keel/init:test"} {
		if !slices.Contains(refs, want) {
			t.Errorf("sources %q lack %s", refs, want)
		}
	}
}

func TestWriteWritesTheSBOMBesideTheOtherOutputs(t *testing.T) {
	out := assembleCase(t, "testdata/machine.yml", machineImages(t))
	dir := t.TempDir()
	sbom := []byte(`{"spdxVersion":"SPDX-2.3"}` + "\n")
	paths, err := Write(out, WriteOptions{Dir: dir, Name: "m", Formats: []string{FormatTar}, SBOM: sbom})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, guest.TarFile("m")), filepath.Join(dir, guest.SBOMFile("m"))}
	if !slices.Equal(paths, want) {
		t.Errorf("paths = %q, want %q", paths, want)
	}
	got, err := os.ReadFile(filepath.Join(dir, "m.spdx.json"))
	if err != nil || string(got) != string(sbom) {
		t.Errorf("m.spdx.json = %q, %v; want %q", got, err, sbom)
	}
}

func TestWriteFailingWritesNoSBOM(t *testing.T) {
	out := assembleCase(t, "testdata/machine.yml", machineImages(t))
	dir := t.TempDir()
	_, err := Write(out, WriteOptions{Dir: dir, Name: "m", Formats: []string{"bogus"}, SBOM: []byte("{}")})
	if err == nil {
		t.Fatal("Write with an unknown format succeeded")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("a failed Write left %v", ents)
	}
}

// tarEntries reads a tar file into name → contents (directories map to "").
func tarEntries(t *testing.T, file string) map[string]string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := map[string]string{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		got[strings.TrimSuffix(h.Name, "/")] = string(data)
	}
}

func TestTarOutputCarriesKernelCmdlineAndUCodeUnderBootAsLinuxKit(t *testing.T) {
	out := assembleCase(t, "testdata/machine.yml", machineImages(t))
	out.UCode = []byte("070701 microcode cpio")
	dir := t.TempDir()
	if _, err := Write(out, WriteOptions{Dir: dir, Name: "m", Formats: []string{FormatTar, FormatKernelInitrd}}); err != nil {
		t.Fatal(err)
	}
	got := tarEntries(t, filepath.Join(dir, guest.TarFile("m")))
	for name, want := range map[string]string{
		"boot":            "",
		"boot/kernel":     "bzImage for tests",
		"boot/cmdline":    "console=ttyS0 quiet",
		"boot/ucode.cpio": "070701 microcode cpio",
	} {
		if data, ok := got[name]; !ok || data != want {
			t.Errorf("%s in the tar: %q (present %v), want %q", name, data, ok, want)
		}
	}
	if _, ok := got["containers/services/getty/config.json"]; !ok {
		t.Errorf("the tar lacks the root filesystem")
	}
	if _, err := out.Root.Lookup("boot/kernel"); err == nil {
		t.Errorf("boot/kernel was added to the root filesystem, so to the initrd")
	}
}

func TestTarOutputHasNoUCodeWithoutMicrocodeAndNoBootWithoutKernel(t *testing.T) {
	out := assembleCase(t, "testdata/machine.yml", machineImages(t))
	dir := t.TempDir()
	if _, err := Write(out, WriteOptions{Dir: dir, Name: "m", Formats: []string{FormatTar}}); err != nil {
		t.Fatal(err)
	}
	got := tarEntries(t, filepath.Join(dir, guest.TarFile("m")))
	if _, ok := got["boot/ucode.cpio"]; ok {
		t.Errorf("boot/ucode.cpio without microcode")
	}
	if _, ok := got["boot/kernel"]; !ok {
		t.Errorf("boot/kernel missing")
	}
	out.Kernel = nil
	if _, err := Write(out, WriteOptions{Dir: dir, Name: "n", Formats: []string{FormatTar}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := tarEntries(t, filepath.Join(dir, guest.TarFile("n")))["boot/kernel"]; ok {
		t.Errorf("boot/kernel without a kernel")
	}
}
