package spec

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseMergesKernelFieldByFieldLaterFileWins(t *testing.T) {
	cfg, err := Parse(
		Source{Name: "base.yml", Data: text(`
kernel:
  image: linuxkit/kernel:6.1
  cmdline: console=ttyS0
  ucode: intel-ucode.cpio
`)},
		Source{Name: "kernel.yml", Data: text(`
kernel:
  image: linuxkit/kernel:6.6
  tar: none
`)},
		Source{Name: "cmdline.yml", Data: text(`
kernel:
  cmdline: console=ttyAMA0
  binary: Image
`)},
	)
	if err != nil {
		t.Fatal(err)
	}
	want := Kernel{
		Image:   "linuxkit/kernel:6.6",
		Cmdline: "console=ttyAMA0",
		Binary:  "Image",
		Tar:     ptr("none"),
		UCode:   ptr("intel-ucode.cpio"),
		Pos:     Pos{File: "kernel.yml", Line: 2},
	}
	if !reflect.DeepEqual(cfg.Kernel, want) {
		t.Errorf("kernel = %+v, want %+v", cfg.Kernel, want)
	}
}

func TestParseAppendsSectionsInFileOrder(t *testing.T) {
	cfg, err := Parse(
		Source{Name: "a.yml", Data: text(`
init: [init:1]
onboot: [{name: a1, image: a:1}]
onshutdown: [{name: a2, image: a:1}]
services: [{name: a3, image: a:1}]
files: [{path: a, contents: a}]
volumes: [{name: va}]
`)},
		Source{Name: "b.yml", Data: text(`
init: [runc:1, containerd:1]
onboot: [{name: b1, image: b:1}]
onshutdown: [{name: b2, image: b:1}]
services: [{name: b3, image: b:1}]
files: [{path: b, contents: b}]
volumes: [{name: vb}]
`)},
	)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range cfg.Init {
		got = append(got, r.Image+"@"+r.Pos.String())
	}
	for _, sec := range [][]Image{cfg.Onboot, cfg.Onshutdown, cfg.Services} {
		for _, img := range sec {
			got = append(got, img.Name+"@"+img.Pos.String())
		}
	}
	for _, f := range cfg.Files {
		got = append(got, f.Path+"@"+f.Pos.String())
	}
	for _, v := range cfg.Volumes {
		got = append(got, v.Name+"@"+v.Pos.String())
	}
	want := []string{
		"init:1@a.yml:1", "runc:1@b.yml:1", "containerd:1@b.yml:1",
		"a1@a.yml:2", "b1@b.yml:2", "a2@a.yml:3", "b2@b.yml:3", "a3@a.yml:4", "b3@b.yml:4",
		"a@a.yml:5", "b@b.yml:5", "va@a.yml:6", "vb@b.yml:6",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("merged = %v\nwant     %v", got, want)
	}
}

func TestParseRejectsDuplicateServiceAcrossFilesNamingBothFiles(t *testing.T) {
	_, err := Parse(
		Source{Name: "a.yml", Data: text(`
services:
  - name: getty
    image: linuxkit/getty:v1
`)},
		Source{Name: "b.yml", Data: text(`
services:
  - name: sshd
    image: linuxkit/sshd:v1
  - name: getty
    image: linuxkit/getty:v2
`)},
	)
	wantError(t, err, "b.yml:4: ", `services[2] "getty": duplicate name "getty" in services (first used at a.yml:2)`)
}

func TestParseAllowsTheSameNameInDifferentSections(t *testing.T) {
	_, err := Parse(Source{Name: "a.yml", Data: text(`
onboot: [{name: x, image: a:1}]
onshutdown: [{name: x, image: a:1}]
services: [{name: x, image: a:1}]
`)})
	if err != nil {
		t.Error(err)
	}
}

func TestParseBindsMayNameAVolumeFromAnotherFile(t *testing.T) {
	_, err := Parse(
		Source{Name: "svc.yml", Data: text("services: [{name: s, image: a:1, binds: [\"data:/data:ro\"]}]\n")},
		Source{Name: "vol.yml", Data: text("volumes: [{name: data}]\n")},
	)
	if err != nil {
		t.Error(err)
	}
}

func TestParseReportsErrorsOfEveryFileInFileOrder(t *testing.T) {
	_, err := Parse(
		Source{Name: "z.yml", Data: text("services: [{name: a}]\n")},
		Source{Name: "a.yml", Data: text("onboot: [{name: b, image: b:1, net: bridge}]\n")},
	)
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "z.yml:1: ") || !strings.HasPrefix(lines[1], "a.yml:1: ") {
		t.Errorf("errors not one per file in file order:\n%v", err)
	}
}

func TestParseFileReadsAndMergesFiles(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yml"), filepath.Join(dir, "b.yml")
	if err := os.WriteFile(a, []byte("kernel: {image: k:1}\nservices: [{name: s, image: s:1}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte("kernel: {cmdline: quiet}\nservices: [{name: s, image: s:2}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseFile(a)
	if err != nil || cfg.Kernel.Image != "k:1" || cfg.Services[0].Pos.File != a {
		t.Errorf("ParseFile(a) = %+v, %v", cfg, err)
	}
	_, err = ParseFile(a, b)
	wantError(t, err, b+":2: ", `duplicate name "s"`, "first used at "+a+":2")
	if _, err := ParseFile(filepath.Join(dir, "missing.yml")); err == nil || !strings.Contains(err.Error(), "missing.yml") {
		t.Errorf("ParseFile(missing) error = %v", err)
	}
}
