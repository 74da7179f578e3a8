package assemble

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keel-os/keel/build/spec"
	"github.com/keel-os/keel/rootfs/tree"
	"gopkg.in/yaml.v3"
)

func ptr[T any](v T) *T { return &v }

// testAssembler returns an assembler for cfg (an empty one if nil) with the test epoch.
func testAssembler(cfg *spec.Config) *assembler {
	if cfg == nil {
		cfg = &spec.Config{}
	}
	return &assembler{cfg: cfg, opts: Options{Epoch: epoch}, ids: cfg.IDs()}
}

// lookup returns the node at p, failing the test if there is none.
func lookup(t *testing.T, root *tree.Tree, p string) *tree.Node {
	t.Helper()
	n, err := root.Lookup(p)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return n
}

func TestFileModeDefaultsAreLinuxKits(t *testing.T) {
	for _, tc := range []struct {
		f    spec.File
		want fs.FileMode
	}{
		{spec.File{Path: "f", Contents: ptr("")}, 0o600},
		{spec.File{Path: "d", Directory: true}, 0o700},
		{spec.File{Path: "f", Contents: ptr(""), Mode: "0644"}, 0o644},
		{spec.File{Path: "d", Directory: true, Mode: "755"}, 0o755},
		{spec.File{Path: "f", Contents: ptr(""), Mode: "4755"}, fs.ModeSetuid | 0o755},
		{spec.File{Path: "d", Directory: true, Mode: "3775"}, fs.ModeSetgid | fs.ModeSticky | 0o775},
		{spec.File{Path: "f", Contents: ptr(""), Mode: "0"}, 0},
	} {
		got, err := fileMode(tc.f)
		if err != nil || got != tc.want {
			t.Errorf("fileMode(mode %q, directory %v) = %v, %v; want %v", tc.f.Mode, tc.f.Directory, got, err, tc.want)
		}
	}
}

func TestFileModeErrorNamesTheModeField(t *testing.T) {
	for _, mode := range []string{"0o644", "rw-r--r--", "0888", "17777", "-1"} {
		_, err := fileMode(spec.File{Path: "f", Mode: mode})
		if err == nil || !strings.HasPrefix(err.Error(), "mode: ") || !strings.Contains(err.Error(), mode) {
			t.Errorf("fileMode(%q) error %v; want one starting with \"mode: \" and naming the value", mode, err)
		}
	}
}

func TestOwnerResolvesNumbersRootAndContainerNames(t *testing.T) {
	cfg := parseYAML(t, "m.yml", `
onboot:
  - {name: first, image: a:1}
services:
  - {name: getty, image: b:1}
`)
	a := testAssembler(cfg)
	for _, tc := range []struct {
		uid, gid         *spec.ID
		wantUID, wantGID int
	}{
		{nil, nil, 0, 0},
		{ptr(spec.NumericID(1000)), ptr(spec.NumericID(50)), 1000, 50},
		{ptr(spec.NamedID("root")), ptr(spec.NamedID("root")), 0, 0},
		{ptr(spec.NamedID("getty")), nil, 101, 0},
		{nil, ptr(spec.NamedID("first")), 0, 100},
	} {
		uid, gid, err := a.owner(spec.File{UID: tc.uid, GID: tc.gid})
		if err != nil || uid != tc.wantUID || gid != tc.wantGID {
			t.Errorf("owner(uid %v, gid %v) = %d, %d, %v; want %d, %d", tc.uid, tc.gid, uid, gid, err, tc.wantUID, tc.wantGID)
		}
	}
}

func TestOwnerErrorNamesTheUIDOrGIDField(t *testing.T) {
	a := testAssembler(nil)
	_, _, err := a.owner(spec.File{UID: ptr(spec.NamedID("nobody"))})
	if err == nil || !strings.HasPrefix(err.Error(), "uid: ") || !strings.Contains(err.Error(), `"nobody"`) {
		t.Errorf("unknown uid name: error %v; want one starting with \"uid: \" naming it", err)
	}
	_, _, err = a.owner(spec.File{UID: ptr(spec.NumericID(1)), GID: ptr(spec.NamedID("staff"))})
	if err == nil || !strings.HasPrefix(err.Error(), "gid: ") || !strings.Contains(err.Error(), `"staff"`) {
		t.Errorf("unknown gid name: error %v; want one starting with \"gid: \" naming it", err)
	}
}

func TestFilesErrorsNamePositionPathAndField(t *testing.T) {
	pos := spec.Pos{File: "m.yml", Line: 7}
	for _, tc := range []struct {
		name string
		f    spec.File
		want string
	}{
		{"bad mode", spec.File{Path: "etc/x", Contents: ptr(""), Mode: "9"}, `m.yml:7: files "etc/x": mode: invalid mode "9"`},
		{"unknown uid", spec.File{Path: "etc/x", Contents: ptr(""), UID: ptr(spec.NamedID("who"))}, `m.yml:7: files "etc/x": uid: unknown id "who"`},
		{"unknown gid", spec.File{Path: "etc/x", Contents: ptr(""), GID: ptr(spec.NamedID("who"))}, `m.yml:7: files "etc/x": gid: unknown id "who"`},
		{"root", spec.File{Path: "/", Directory: true}, `m.yml:7: files "/": cannot replace the root directory`},
		{"root climbed to", spec.File{Path: "../..", Directory: true}, `m.yml:7: files "../..": cannot replace the root directory`},
		{"missing source", spec.File{Path: "etc/x", Source: filepath.Join(t.TempDir(), "missing")}, `m.yml:7: files "etc/x": stat `},
		{"below a symlink", spec.File{Path: "var/run/x", Contents: ptr("")}, `m.yml:7: files "var/run/x": `},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.f.Pos = pos
			root := tree.New()
			if err := root.AddSymlink("var/run", "/run", 0, 0); err != nil {
				t.Fatal(err)
			}
			err := testAssembler(&spec.Config{Files: []spec.File{tc.f}}).files(root)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %v; want one starting with %q", err, tc.want)
			}
		})
	}
}

func TestFilesStopAtTheFirstFailingEntry(t *testing.T) {
	root := tree.New()
	cfg := &spec.Config{Files: []spec.File{
		{Path: "a", Contents: ptr("a")},
		{Path: "b", Contents: ptr("b"), Mode: "bad"},
		{Path: "c", Contents: ptr("c")},
	}}
	if err := testAssembler(cfg).files(root); err == nil || !strings.Contains(err.Error(), `files "b"`) {
		t.Fatalf("error %v; want one naming files \"b\"", err)
	}
	if _, err := root.Lookup("c"); err == nil {
		t.Error("the entry after the failing one was added")
	}
}

func TestFileKindsOwnerModeAndTime(t *testing.T) {
	root := tree.New()
	cfg := &spec.Config{Files: []spec.File{
		{Path: "/etc/../etc/hostname", Contents: ptr("keel\n"), Mode: "0644", UID: ptr(spec.NumericID(5)), GID: ptr(spec.NumericID(6))},
		{Path: "etc/empty", Contents: ptr("")},
		{Path: "etc/none"}, // no kind: an empty file, as in LinuxKit
		{Path: "run/d/", Directory: true, UID: ptr(spec.NumericID(7))},
		{Path: "etc/localtime", Symlink: "../usr/share/zoneinfo/UTC", Mode: "0600", GID: ptr(spec.NumericID(8))},
		{Path: "../../escape", Contents: ptr("x")},
	}}
	if err := testAssembler(cfg).files(root); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path     string
		typ      fs.FileMode
		perm     fs.FileMode
		uid, gid int
		data     string
		target   string
	}{
		{"etc/hostname", 0, 0o644, 5, 6, "keel\n", ""},
		{"etc/empty", 0, 0o600, 0, 0, "", ""},
		{"etc/none", 0, 0o600, 0, 0, "", ""},
		{"run/d", fs.ModeDir, 0o700, 7, 0, "", ""},
		{"etc/localtime", fs.ModeSymlink, 0o777, 0, 8, "", "../usr/share/zoneinfo/UTC"},
		{"escape", 0, 0o600, 0, 0, "x", ""},
	} {
		n := lookup(t, root, tc.path)
		if n.Type() != tc.typ || n.Perm() != tc.perm || n.UID != tc.uid || n.GID != tc.gid || string(n.Data) != tc.data || n.Target != tc.target {
			t.Errorf("%s: %v %d:%d %q -> %q; want %v%v %d:%d %q -> %q", tc.path, n.Mode, n.UID, n.GID, n.Data, n.Target, tc.typ, tc.perm, tc.uid, tc.gid, tc.data, tc.target)
		}
		if !n.ModTime.Equal(epoch) {
			t.Errorf("%s: time %v, want the epoch", tc.path, n.ModTime)
		}
	}
}

func TestFileReplacesAnImageFile(t *testing.T) {
	root := tree.New()
	if err := root.AddFile("etc/hostname", 0o644, 0, 0, []byte("image\n")); err != nil {
		t.Fatal(err)
	}
	cfg := &spec.Config{Files: []spec.File{{Path: "etc/hostname", Contents: ptr("files\n")}}}
	if err := testAssembler(cfg).files(root); err != nil {
		t.Fatal(err)
	}
	if n := lookup(t, root, "etc/hostname"); string(n.Data) != "files\n" || n.Perm() != 0o600 {
		t.Errorf("etc/hostname: %v %q; want the files entry's contents with mode 0600", n.Mode, n.Data)
	}
}

func TestFileMetadataHoldsTheResolvedConfiguration(t *testing.T) {
	cfg := parseYAML(t, "m.yml", `
services:
  - {name: getty, image: keel/getty:1}
files:
  - {path: etc/keel.json, metadata: json}
  - {path: etc/keel.yml, metadata: yaml, mode: "0640"}
`)
	root := tree.New()
	if err := testAssembler(cfg).files(root); err != nil {
		t.Fatal(err)
	}
	var fromJSON, fromYAML spec.Config
	n := lookup(t, root, "etc/keel.json")
	if err := json.Unmarshal(n.Data, &fromJSON); err != nil {
		t.Fatalf("etc/keel.json: %v\n%s", err, n.Data)
	}
	if n.Perm() != 0o600 {
		t.Errorf("etc/keel.json: mode %v, want the default 0600", n.Perm())
	}
	n = lookup(t, root, "etc/keel.yml")
	if err := yaml.Unmarshal(n.Data, &fromYAML); err != nil {
		t.Fatalf("etc/keel.yml: %v\n%s", err, n.Data)
	}
	if n.Perm() != 0o640 {
		t.Errorf("etc/keel.yml: mode %v, want 0640", n.Perm())
	}
	for name, got := range map[string]spec.Config{"json": fromJSON, "yaml": fromYAML} {
		if len(got.Services) != 1 || got.Services[0].Image != "keel/getty:1" || len(got.Files) != 2 || got.Files[1].Metadata != "yaml" {
			t.Errorf("metadata %s: services %+v, files %+v; want the parsed configuration", name, got.Services, got.Files)
		}
	}
}

func TestFileSourceCopiesAHostFile(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "motd")
	if err := os.WriteFile(src, []byte("hello\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(src, 0o640); err != nil { // whatever the umask
		t.Fatal(err)
	}
	root := tree.New()
	cfg := &spec.Config{Files: []spec.File{
		{Path: "etc/motd", Source: src, UID: ptr(spec.NumericID(3))},
		{Path: "etc/motd.ro", Source: src, Mode: "0444"},
	}}
	if err := testAssembler(cfg).files(root); err != nil {
		t.Fatal(err)
	}
	for p, perm := range map[string]fs.FileMode{"etc/motd": 0o640, "etc/motd.ro": 0o444} {
		n := lookup(t, root, p)
		if !n.IsRegular() || string(n.Data) != "hello\n" || n.Perm() != perm || !n.ModTime.Equal(epoch) {
			t.Errorf("%s: %v %q %v; want a regular file %q mode %v at the epoch", p, n.Mode, n.Data, n.ModTime, "hello\n", perm)
		}
	}
	if n := lookup(t, root, "etc/motd"); n.UID != 3 {
		t.Errorf("etc/motd: uid %d, want 3", n.UID)
	}
}

func TestFileSourceCopiesADirectoryKeepingHostModes(t *testing.T) {
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "sub"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "sub", "f"), []byte("f"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub/f", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	for p, m := range map[string]fs.FileMode{"sub": 0o750, "sub/f": 0o604} {
		if err := os.Chmod(filepath.Join(src, p), m); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(src, 0o711); err != nil {
		t.Fatal(err)
	}
	root := tree.New()
	// A directory source keeps the host's modes, its top included: mode is not applied.
	cfg := &spec.Config{Files: []spec.File{{Path: "srv/www", Source: src, Mode: "0700", UID: ptr(spec.NumericID(9)), GID: ptr(spec.NumericID(10))}}}
	if err := testAssembler(cfg).files(root); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		typ  fs.FileMode
		perm fs.FileMode
	}{
		{"srv/www", fs.ModeDir, 0o711},
		{"srv/www/sub", fs.ModeDir, 0o750},
		{"srv/www/sub/f", 0, 0o604},
		{"srv/www/link", fs.ModeSymlink, 0o777},
	} {
		n := lookup(t, root, tc.path)
		if n.Type() != tc.typ || n.Perm() != tc.perm || n.UID != 9 || n.GID != 10 || !n.ModTime.Equal(epoch) {
			t.Errorf("%s: %v %d:%d %v; want %v%v 9:10 at the epoch", tc.path, n.Mode, n.UID, n.GID, n.ModTime, tc.typ, tc.perm)
		}
	}
	if n := lookup(t, root, "srv/www/link"); n.Target != "sub/f" {
		t.Errorf("srv/www/link -> %q, want sub/f", n.Target)
	}
}

func TestFileSourceOptionalMissingAddsNothing(t *testing.T) {
	root := tree.New()
	cfg := &spec.Config{Files: []spec.File{{Path: "etc/x", Source: filepath.Join(t.TempDir(), "missing"), Optional: true}}}
	if err := testAssembler(cfg).files(root); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Lookup("etc/x"); err == nil {
		t.Error("an optional missing source added etc/x")
	}
}

func TestFileSourceTildeIsTheHomeDirectory(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	if err := os.WriteFile(filepath.Join(home, "key.pub"), []byte("ssh-ed25519 AAAA"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := tree.New()
	cfg := &spec.Config{Files: []spec.File{{Path: "root/.ssh/authorized_keys", Source: "~/key.pub", Mode: "0600"}}}
	if err := testAssembler(cfg).files(root); err != nil {
		t.Fatal(err)
	}
	if n := lookup(t, root, "root/.ssh/authorized_keys"); string(n.Data) != "ssh-ed25519 AAAA" {
		t.Errorf("authorized_keys: %q, want the home directory's key.pub", n.Data)
	}
}

func TestFileSourceFollowsALinkedDirectoryAndDropsSetuid(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "real", "su")
	if err := os.WriteFile(f, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(f, fs.ModeSetuid|0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	root := tree.New()
	cfg := &spec.Config{Files: []spec.File{{Path: "opt", Source: filepath.Join(dir, "link")}}}
	if err := testAssembler(cfg).files(root); err != nil {
		t.Fatal(err)
	}
	if n := lookup(t, root, "opt"); !n.IsDir() {
		t.Errorf("opt: %v, want the linked directory", n.Mode)
	}
	// LinuxKit's files keep only the permission bits of their sources.
	if n := lookup(t, root, "opt/su"); n.Mode != 0o755 {
		t.Errorf("opt/su: %v, want -rwxr-xr-x", n.Mode)
	}
}

func TestSkeletonKeepsContainersAndSystemForRootEvenWhenAnInitImageMadeThemOpen(t *testing.T) {
	root := tree.New()
	if err := root.AddDir("containers", 0o755, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := testAssembler(nil).skeleton(root); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]fs.FileMode{"containers": 0o700, "system": 0o700, "run": 0o755} {
		if n := lookup(t, root, p); !n.IsDir() || n.Perm() != want {
			t.Errorf("/%s: mode %v, want a directory with %v", p, n.Mode, want)
		}
	}
}
