package spec

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseAcceptsLinuxKitVolumeBindsOfAReadonlyVolume(t *testing.T) {
	cfg := mustParse(t, `
onboot:
  - name: reader
    image: alpine:3.20
    binds:
      - vola:/vola:ro
  - name: default
    image: alpine:3.20
    binds.add:
      - vola:/vola
volumes:
  - name: vola
    image: alpine:3.20
    readonly: true
    platforms: [linux/arm64]      # ignored, as in LinuxKit: the target arch's files
  - name: layout
    image: alpine:3.20
    format: oci
    platforms: [linux/amd64, linux/arm64]
`)
	if v := cfg.Volume("layout"); v == nil || v.Format != VolumeFormatOCI || len(v.Platforms) != 2 {
		t.Errorf("layout volume = %+v", v)
	}
}

func TestParseRejectsReadWriteBindOfReadonlyVolume(t *testing.T) {
	_, err := parse(t, "ro.yml", `
services:
  - name: writer
    image: alpine:3.20
    binds: ["vola:/vola:rw"]
volumes:
  - name: vola
    readonly: true
`)
	wantError(t, err, "ro.yml:2: ", `services[0] "writer": binds[0]`, `volume "vola" is readonly`, `not "rw"`)
}

func TestResolvePackagesReplacesPkgRefsRelativeToTheFileTheyAreIn(t *testing.T) {
	cfg, err := Parse(
		Source{Name: filepath.Join("sys", "base.yml"), Data: text(`
kernel:
  image: "@pkg:../kernel"
init:
  - "@pkg:./init"
  - keel/runc:dev
`)},
		Source{Name: filepath.Join("app", "app.yml"), Data: text(`
services:
  - name: getty
    image: "@pkg:services/getty"
volumes:
  - name: data
    image: "@pkg:/abs/data"
`)})
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	err = cfg.ResolvePackages(func(dir string) (string, error) {
		asked = append(asked, filepath.ToSlash(dir))
		return "keel/" + filepath.Base(dir) + ":dev", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(asked, " "), "kernel sys/init app/services/getty /abs/data"; got != want {
		t.Errorf("directories resolved: %q, want %q", got, want)
	}
	for got, want := range map[string]string{
		cfg.Kernel.Image:      "keel/kernel:dev",
		cfg.Init[0].Image:     "keel/init:dev",
		cfg.Init[1].Image:     "keel/runc:dev",
		cfg.Services[0].Image: "keel/getty:dev",
		cfg.Volumes[0].Image:  "keel/data:dev",
	} {
		if got != want {
			t.Errorf("resolved reference %q, want %q", got, want)
		}
	}
}

func TestResolvePackagesNamesTheLineOfEveryReferenceThatFails(t *testing.T) {
	cfg := mustParse(t, `
onboot:
  - name: a
    image: "@pkg:./a"
services:
  - name: b
    command: [/b]
    image: "@pkg:./b"
  - name: c
    image: keel/c:dev
`)
	err := cfg.ResolvePackages(func(dir string) (string, error) {
		return "", errors.New("not built yet")
	})
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 2 {
		t.Fatalf("error = %v, want two", err)
	}
	for i, want := range []string{
		`test.yml:3: onboot[0] "a": image: @pkg:./a: not built yet`,
		`test.yml:7: services[0] "b": image: @pkg:./b: not built yet`,
	} {
		if list[i].Error() != want {
			t.Errorf("error %d = %q, want %q", i, list[i].Error(), want)
		}
	}
	if cfg.Services[1].Image != "keel/c:dev" {
		t.Errorf("a plain reference changed to %q", cfg.Services[1].Image)
	}
}
