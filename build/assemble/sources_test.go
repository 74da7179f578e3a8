package assemble

import (
	"os"
	"path/filepath"
	"slices"
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
