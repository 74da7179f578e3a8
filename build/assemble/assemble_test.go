package assemble

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/keel-os/keel/build/spec"
	"github.com/keel-os/keel/bundle"
	"github.com/keel-os/keel/rootfs/tarout"
	"github.com/keel-os/keel/rootfs/tree"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

var epoch = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// machineImages are the images of testdata/machine.yml.
func machineImages(t *testing.T) images {
	t.Helper()
	modules := layerTar(t,
		ent{name: "lib/", mode: 0o755},
		ent{name: "lib/modules/", mode: 0o755},
		ent{name: "lib/modules/6.12.0-test/", mode: 0o755},
		ent{name: "lib/modules/6.12.0-test/modules.dep", mode: 0o644, data: "kernel/drivers/virtio.ko:\n"},
		ent{name: "lib/modules/6.12.0-test/kernel/drivers/virtio.ko", mode: 0o644, data: "\x7fELF module"},
	)
	m := map[string]v1.Image{
		"keel/kernel:test": testImage(t, nil, "",
			ent{name: "kernel", mode: 0o644, data: "bzImage for tests"},
			ent{name: "kernel.tar", mode: 0o644, data: string(modules)},
		),
		"keel/init:test": testImage(t, nil, "",
			ent{name: "init", mode: 0o755, data: "the init binary"},
			ent{name: "sbin/", mode: 0o755},
			ent{name: "sbin/poweroff", link: "init", hard: true},
			ent{name: "usr/", mode: 0o755},
			ent{name: "usr/bin/", mode: 0o755},
			ent{name: "usr/bin/runc", mode: 0o755, data: "runc"},
			ent{name: "etc/", mode: 0o755},
			ent{name: "etc/resolv.conf", mode: 0o644, data: "nameserver 10.0.2.3\n"},
			ent{name: "etc/issue", mode: 0o644, data: "first\n"},
		),
		"keel/init-extra:test": testImage(t, nil, "",
			ent{name: "etc/", mode: 0o755},
			ent{name: "etc/issue", mode: 0o644, data: "replaced by the second init image\n"},
			ent{name: "etc/mtab", link: "/proc/mounts"},
		),
		"example/sysctl:test": testImage(t, []string{"/sbin/sysctl", "-p"},
			`{"net":"host","capabilities":["CAP_SYS_ADMIN"],"readonly":true,"binds":["/etc/sysctl.d:/etc/sysctl.d"],"runtime":{"mkdir":["/run/sysctl"]}}`,
			ent{name: "sbin/", mode: 0o755},
			ent{name: "sbin/sysctl", mode: 0o755, data: "sysctl"},
		),
		"example/dhcpcd:test": testImage(t, []string{"/sbin/dhcpcd", "--nobackground"},
			`{"capabilities":["CAP_NET_ADMIN","CAP_NET_RAW"],"runtime":{"mkdir":["/from/label"]}}`,
			ent{name: "sbin/", mode: 0o755},
			ent{name: "sbin/dhcpcd", mode: 0o755, data: "dhcpcd"},
			ent{name: "var/", mode: 0o755},
			ent{name: "var/run", link: "../run"},
		),
		"example/getty:test": testImage(t, []string{"/sbin/getty"},
			`{"capabilities":["CAP_CHOWN","CAP_SETGID","CAP_SETUID"],"pid":"host","tmpfs":["/tmp"],"binds":["/containers/volumes/data:/data"]}`,
			ent{name: "sbin/", mode: 0o755},
			ent{name: "sbin/getty", mode: 0o755, data: "getty"},
			ent{name: "usr/", mode: 0o755},
			ent{name: "usr/bin/", mode: 0o755},
			ent{name: "usr/bin/passwd", mode: 0o4755, data: "passwd"},
			ent{name: "home/", mode: 0o755},
			ent{name: "home/user/", mode: 0o750, uid: 1000, gid: 1000},
		),
		"example/sshd:test": testImage(t, []string{"/usr/sbin/sshd", "-D"}, "",
			ent{name: "etc/", mode: 0o755},
			ent{name: "etc/ssh/", mode: 0o755},
			ent{name: "etc/ssh/sshd_config", mode: 0o644, data: "PermitRootLogin no\n"},
		),
		"example/data:test": testImage(t, nil, "",
			ent{name: "seed/", mode: 0o700, uid: 1000, gid: 1000},
			ent{name: "seed/a.txt", mode: 0o600, uid: 1000, gid: 1000, data: "seed data\n"},
		),
	}
	return images{arch: "amd64", m: m}
}

// assembleCase assembles testdata/NAME.yml with imgs.
func assembleCase(t *testing.T, yml string, imgs images) *Image {
	t.Helper()
	cfg, err := spec.ParseFile(yml)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Assemble(context.Background(), cfg, Options{Arch: "amd64", Resolver: imgs, Epoch: epoch})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// render lists the kernel, the command line and every entry of the tree (type and mode,
// uid, gid, size, time in Unix seconds, path, and a symlink's target, a hard link's first path or a device's
// numbers), then the contents of each bundle's config.json and runtime.json.
func render(img *Image) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "kernel: %q\nucode: %q\ncmdline: %q\n\n", img.Kernel, img.UCode, img.Cmdline)
	first := map[*tree.Node]string{}
	var bundles []string
	err := img.Root.Walk(func(p string, n *tree.Node) error {
		mtime := "-" // never set: written as time 0
		if !n.ModTime.IsZero() {
			mtime = fmt.Sprint(n.ModTime.Unix())
		}
		fmt.Fprintf(&b, "%-11s %4d %4d %5d %10s %s", n.Mode, n.UID, n.GID, n.Size(), mtime, p)
		switch {
		case n.IsSymlink():
			fmt.Fprintf(&b, " -> %s", n.Target)
		case n.Type() == tree.ModeChar || n.Type() == tree.ModeBlock:
			fmt.Fprintf(&b, " %d,%d", n.Major, n.Minor)
		case n.IsRegular():
			if f, ok := first[n]; ok {
				fmt.Fprintf(&b, " => %s", f)
			} else {
				first[n] = p
			}
		}
		b.WriteByte('\n')
		base := path.Base(p)
		if strings.HasPrefix(p, "containers/") && n.IsRegular() && (base == bundle.ConfigFile || base == bundle.RuntimeFile) {
			bundles = append(bundles, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, p := range bundles {
		n, err := img.Root.Lookup(p)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "\n== %s\n%s", p, n.Data)
		if !bytes.HasSuffix(n.Data, []byte("\n")) {
			b.WriteByte('\n')
		}
	}
	return b.Bytes(), nil
}

// TestAssembleMatchesGoldenFiles assembles every testdata/NAME.yml with machineImages and
// compares the tree listing and the bundles' config.json and runtime.json with
// testdata/NAME.golden. Run with -update to rewrite the golden files, then review the diff.
func TestAssembleMatchesGoldenFiles(t *testing.T) {
	cases, err := filepath.Glob("testdata/*.yml")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no test cases: %v", err)
	}
	imgs := machineImages(t)
	for _, yml := range cases {
		name := strings.TrimSuffix(filepath.Base(yml), ".yml")
		t.Run(name, func(t *testing.T) {
			got, err := render(assembleCase(t, yml, imgs))
			if err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(yml, ".yml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (run go test -update and review the diff):\n%s", golden, firstDiff(string(want), string(got)))
			}
		})
	}
}

// TestAssembleTwiceGivesIdenticalTar assembles the machine twice, each time from images
// built afresh, and checks that the tar archives of the two trees are the same bytes.
func TestAssembleTwiceGivesIdenticalTar(t *testing.T) {
	var tars [2][]byte
	for i := range tars {
		img := assembleCase(t, "testdata/machine.yml", machineImages(t))
		var buf bytes.Buffer
		if err := tarout.WriteClamped(&buf, img.Root, nil); err != nil {
			t.Fatal(err)
		}
		tars[i] = buf.Bytes()
	}
	if !bytes.Equal(tars[0], tars[1]) {
		t.Fatalf("two assemblies of the same description differ (%d and %d bytes)", len(tars[0]), len(tars[1]))
	}
}

// TestAssembleStampsGeneratedFilesWithTheEpoch checks that config.json, runtime.json, the
// bundle directory and the files section take Options.Epoch, and image entries keep their time.
func TestAssembleStampsGeneratedFilesWithTheEpoch(t *testing.T) {
	img := assembleCase(t, "testdata/machine.yml", machineImages(t))
	for p, want := range map[string]time.Time{
		"containers/services/getty":                 epoch,
		"containers/services/getty/config.json":     epoch,
		"containers/onboot/001-dhcpcd/runtime.json": epoch,
		"etc/hostname":  epoch,
		"etc/keel":      epoch,
		"etc/localtime": epoch,
		"usr/bin/runc":  time.Unix(1000, 0),
		"containers/services/getty/rootfs/sbin/getty": time.Unix(1000, 0),
	} {
		n, err := img.Root.Lookup(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if !n.ModTime.Equal(want) {
			t.Errorf("%s: time %v, want %v", p, n.ModTime.UTC(), want.UTC())
		}
	}
}

// TestAssembleErrorsNameFileAndLine checks that a missing image and a missing kernel file
// are reported at the line of the YAML that asked for them.
func TestAssembleErrorsNameFileAndLine(t *testing.T) {
	imgs := machineImages(t)
	for _, tc := range []struct {
		name, yml, want string
	}{
		{"missing image", "services:\n  - name: x\n    image: example/missing:1\n", `m.yml:2`},
		{"no kernel file", "kernel:\n  image: keel/kernel:test\n  binary: vmlinuz\n", `m.yml:2`},
		{"no kernel tar asked for", "kernel:\n  image: keel/kernel:test\n  tar: modules.tar\n", `has no file "modules.tar"`},
		{"no ucode", "kernel:\n  image: keel/kernel:test\n  ucode: intel-ucode.cpio\n", `has no ucode file "intel-ucode.cpio"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := parseYAML(t, "m.yml", tc.yml)
			_, err := Assemble(context.Background(), cfg, Options{Arch: "amd64", Resolver: imgs})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestAssembleWithoutResolverFails pins the error for a caller that forgot the resolver.
func TestAssembleWithoutResolverFails(t *testing.T) {
	if _, err := Assemble(context.Background(), &spec.Config{}, Options{}); err == nil {
		t.Fatal("Assemble without a resolver succeeded")
	}
}

// TestSkeletonKeepsAnInitImagesNonDirectory checks that a mount point an init image made a
// symlink stays one, and that /dev/console is added as char device 5,1.
func TestSkeletonKeepsAnInitImagesNonDirectory(t *testing.T) {
	imgs := images{arch: "amd64", m: map[string]v1.Image{
		"keel/init:test": testImage(t, nil, "", ent{name: "tmp", link: "/run/tmp"}),
	}}
	cfg := parseYAML(t, "m.yml", "init: [keel/init:test]\n")
	img, err := Assemble(context.Background(), cfg, Options{Arch: "amd64", Resolver: imgs})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := img.Root.Lookup("tmp"); err != nil || !n.IsSymlink() || n.Target != "/run/tmp" {
		t.Errorf("tmp: %+v, %v; want the init image's symlink to /run/tmp", n, err)
	}
	n, err := img.Root.Lookup("dev/console")
	if err != nil || n.Mode&tree.ModeChar != tree.ModeChar || n.Major != 5 || n.Minor != 1 || n.Perm() != 0o600 {
		t.Errorf("dev/console: %+v, %v; want char device 5,1 mode 0600", n, err)
	}
	if img.Kernel != nil {
		t.Errorf("kernel %q without a kernel section", img.Kernel)
	}
}

// firstDiff shows the first differing line with some context.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		if i >= len(w) || i >= len(g) || w[i] != g[i] {
			var b strings.Builder
			for j := max(0, i-3); j < i; j++ {
				fmt.Fprintf(&b, "  %4d  %s\n", j+1, w[j])
			}
			if i < len(w) {
				fmt.Fprintf(&b, "- %4d  %s\n", i+1, w[i])
			}
			if i < len(g) {
				fmt.Fprintf(&b, "+ %4d  %s\n", i+1, g[i])
			}
			return b.String()
		}
	}
	return ""
}

// TestAssembleGivesRepeatedOnbootNamesABundleEach checks that onboot entries sharing a name
// (LinuxKit allows it) each get their own bundle directory, keyed by index, with their own
// config, and that a relative runtime mount point is made inside that bundle's rootfs.
func TestAssembleGivesRepeatedOnbootNamesABundleEach(t *testing.T) {
	cfg := parseYAML(t, "m.yml", `
onboot:
  - name: sysctl
    image: example/sysctl:test
  - name: sysctl
    image: example/sysctl:test
    command: ["/sbin/sysctl", "-w", "vm.swappiness=0"]
    runtime:
      mounts:
        - type: tmpfs
          source: tmpfs
          destination: var/cache
onshutdown:
  - name: sysctl
    image: example/sysctl:test
`)
	img, err := Assemble(context.Background(), cfg, Options{Arch: "amd64", Resolver: machineImages(t)})
	if err != nil {
		t.Fatal(err)
	}
	first, err := img.Root.Lookup("containers/onboot/000-sysctl/config.json")
	if err != nil {
		t.Fatal(err)
	}
	second, err := img.Root.Lookup("containers/onboot/001-sysctl/config.json")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(first.Data, []byte("swappiness")) || !bytes.Contains(second.Data, []byte("swappiness")) {
		t.Errorf("the two sysctl bundles do not each have their own command")
	}
	if _, err := img.Root.Lookup("containers/onshutdown/000-sysctl/config.json"); err != nil {
		t.Errorf("onshutdown bundle: %v", err)
	}
	if n, err := img.Root.Lookup("containers/onboot/001-sysctl/rootfs/var/cache"); err != nil || !n.IsDir() {
		t.Errorf("relative runtime mount point: %v, want a directory in the rootfs", err)
	}
	if _, err := img.Root.Lookup("containers/onboot/000-sysctl/rootfs/var/cache"); err == nil {
		t.Errorf("the runtime mount point of 001-sysctl was made in 000-sysctl too")
	}
}
