package qemu

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"
)

func readISO(t *testing.T, path string) *iso9660.FileSystem {
	t.Helper()
	b, err := file.OpenFromPath(path, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	st, _ := os.Stat(path)
	fsys, err := iso9660.Read(b, st.Size(), 0, 2048)
	if err != nil {
		t.Fatalf("read back %s: %v", path, err)
	}
	return fsys
}

func TestWriteISOHoldsTheFilesUnderTheirNamesAndLabel(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cidata.iso")
	files := map[string][]byte{"user-data": []byte("#cloud-config\nhostname: h\n"), "meta-data": nil, "network-config": []byte("version: 2\n")}
	if err := WriteISO(p, "cidata", files); err != nil {
		t.Fatal(err)
	}
	fsys := readISO(t, p)
	if got := strings.TrimRight(fsys.Label(), " \x00"); got != "cidata" {
		t.Errorf("label %q", got)
	}
	for name, want := range files {
		got, err := fsys.ReadFile(name)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %q, %v; want %q", name, got, err, want)
		}
	}
	raw, _ := os.ReadFile(p)
	if string(raw[32769:32774]) != "CD001" || string(bytes.TrimRight(raw[32768+40:32768+72], " ")) != "cidata" {
		t.Errorf("primary volume descriptor label %q", raw[32768+40:32768+72])
	}
	// The long names Linux shows come from a Joliet supplementary volume descriptor.
	joliet := false
	for off := 17 * 2048; off+2048 <= len(raw) && raw[off] != 255; off += 2048 {
		if esc := string(raw[off+88 : off+91]); raw[off] == 2 && (esc == "%/@" || esc == "%/C" || esc == "%/E") {
			joliet = true
		}
	}
	if !joliet {
		t.Error("no Joliet volume descriptor")
	}
}

func TestWriteISOIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{"config": []byte(`{"a":{"content":"b"}}`)}
	var images [][]byte
	for _, n := range []string{"a.iso", "b.iso"} {
		p := filepath.Join(dir, n)
		if err := WriteISO(p, "config", files); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		images = append(images, b)
	}
	if !bytes.Equal(images[0], images[1]) {
		for i := range images[0] {
			if images[0][i] != images[1][i] {
				t.Fatalf("images differ first at byte %d (sector %d, offset %d)", i, i/2048, i%2048)
			}
		}
		t.Fatalf("images differ in size: %d, %d", len(images[0]), len(images[1]))
	}
}

func TestWriteISORefusesPathsAndExistingFiles(t *testing.T) {
	dir := t.TempDir()
	if err := WriteISO(filepath.Join(dir, "x.iso"), "cidata", map[string][]byte{"../x": nil}); err == nil {
		t.Error("a name with a path was accepted")
	}
	p := filepath.Join(dir, "y.iso")
	os.WriteFile(p, []byte("keep"), 0o644)
	if err := WriteISO(p, "cidata", nil); err == nil {
		t.Error("an existing file was overwritten")
	}
	if b, _ := os.ReadFile(p); string(b) != "keep" {
		t.Errorf("existing file changed: %q", b)
	}
}

func TestPrepareDataBuildsTheImagesDataViaAsksFor(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Data: []byte("#cloud-config\n"), MetaData: []byte("instance-id: i\n"), DataVia: []string{"cidata", "cdrom", "fwcfg"}}
	c, err := prepareData(cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ISOs) != 2 || filepath.Base(c.ISOs[0]) != "cidata.iso" || filepath.Base(c.ISOs[1]) != "config.iso" {
		t.Fatalf("ISOs %q", c.ISOs)
	}
	for iso, want := range map[string]map[string]string{
		c.ISOs[0]: {"user-data": "#cloud-config\n", "meta-data": "instance-id: i\n"},
		c.ISOs[1]: {"config": "#cloud-config\n"},
	} {
		fsys := readISO(t, iso)
		for name, data := range want {
			if got, err := fsys.ReadFile(name); err != nil || string(got) != data {
				t.Errorf("%s %s: %q %v", filepath.Base(iso), name, got, err)
			}
		}
	}
	if b, err := os.ReadFile(c.DataFile); err != nil || string(b) != "#cloud-config\n" || filepath.Dir(c.DataFile) != dir {
		t.Errorf("fw_cfg user-data file %s: %q %v", c.DataFile, b, err)
	}
	if cfg.ISOs != nil || cfg.DataFile != "" {
		t.Error("the caller's Config changed")
	}
}

func TestPrepareDataReadsTheGivenFiles(t *testing.T) {
	dir := t.TempDir()
	ud := filepath.Join(dir, "ud")
	os.WriteFile(ud, []byte("from file"), 0o644)
	c, err := prepareData(Config{DataFile: ud}, filepath.Join(dir))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := readISO(t, c.ISOs[0]).ReadFile("user-data"); err != nil || string(got) != "from file" {
		t.Errorf("user-data %q %v", got, err)
	}
	if _, err := prepareData(Config{DataFile: filepath.Join(dir, "missing")}, t.TempDir()); err == nil {
		t.Error("a missing data file was accepted")
	}
}
