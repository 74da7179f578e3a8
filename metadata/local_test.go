package main

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// machine is a fake /sys, /dev and /proc/cmdline; mounting a device copies the files given
// for it into the mount point.
type machine struct {
	t       *testing.T
	e       *env
	content map[string]map[string]string // device path → files on it
	mounted []string
}

func newMachine(t *testing.T) *machine {
	root := t.TempDir()
	m := &machine{t: t, content: map[string]map[string]string{}}
	m.e = &env{
		sys: filepath.Join(root, "sys"), dev: filepath.Join(root, "dev"), cmdline: filepath.Join(root, "cmdline"),
		mountDir: t.TempDir(), log: log.New(io.Discard, "", 0),
		mount: func(dev, dir, fstype string) error {
			files, ok := m.content[dev]
			if !ok {
				return errors.New("no medium")
			}
			m.mounted = append(m.mounted, dev+" "+fstype)
			for name, data := range files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
					return err
				}
			}
			return nil
		},
		unmount: func(dir string) error {
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				os.Remove(filepath.Join(dir, e.Name()))
			}
			return nil
		},
	}
	for _, d := range []string{m.e.dev, filepath.Join(m.e.sys, "class/block")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func (m *machine) write(p, data string) {
	m.t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		m.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		m.t.Fatal(err)
	}
}

// isoHeader is the start of an ISO 9660 image with the volume label.
func isoHeader(label string) []byte {
	b := make([]byte, 32768+2048)
	pvd := b[32768:]
	pvd[0] = 1
	copy(pvd[1:], "CD001")
	copy(pvd[40:72], label+strings.Repeat(" ", 32-len(label)))
	return b
}

// fatHeader is a FAT16 boot sector with the volume label.
func fatHeader(label string) []byte {
	b := make([]byte, 512)
	b[38] = 0x29
	copy(b[43:54], label+strings.Repeat(" ", 11-len(label)))
	copy(b[54:62], "FAT16   ")
	b[510], b[511] = 0x55, 0xAA
	return b
}

// disk adds a block device with header bytes and the files a mount shows.
func (m *machine) disk(name string, header []byte, files map[string]string) {
	m.write(filepath.Join(m.e.sys, "class/block", name, "dev"), "11:0\n")
	m.write(filepath.Join(m.e.dev, name), string(header))
	if files != nil {
		m.content[filepath.Join(m.e.dev, name)] = files
	}
}

func TestCidataIsFoundByLabelOnISOAndFAT(t *testing.T) {
	for _, tc := range []struct {
		dev    string
		header []byte
		fstype string
	}{{"sr0", isoHeader("cidata"), "iso9660"}, {"vdb", fatHeader("CIDATA"), "vfat"}} {
		m := newMachine(t)
		m.disk("vda", []byte("ext4, no label we read"), nil)
		m.disk("sr1", isoHeader("OTHER"), map[string]string{"user-data": "wrong"})
		m.disk(tc.dev, tc.header, map[string]string{
			"user-data":      "#cloud-config\nhostname: ci\n",
			"meta-data":      "instance-id: iid-local01\nlocal-hostname: from-meta\npublic-keys:\n  - ssh-ed25519 AAAA meta\n",
			"network-config": "version: 2\nethernets: {}\n",
		})
		d, err := cidataProvider{m.e}.fetch(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", tc.dev, err)
		}
		if len(m.mounted) != 1 || m.mounted[0] != filepath.Join(m.e.dev, tc.dev)+" "+tc.fstype {
			t.Errorf("%s: mounted %q", tc.dev, m.mounted)
		}
		if d.Provider != "NoCloud" || string(d.UserData) != "#cloud-config\nhostname: ci\n" || d.Hostname != "from-meta" ||
			d.Facts["instance_id"] != "iid-local01" || string(d.NetworkConfig) != "version: 2\nethernets: {}\n" || len(d.SSHKeys) != 1 {
			t.Errorf("%s: %+v", tc.dev, d)
		}
	}
}

func TestCidataIsAbsentWithoutALabelledVolume(t *testing.T) {
	m := newMachine(t)
	m.disk("sr0", isoHeader("config-2"), map[string]string{"user-data": "x"})
	if _, err := (cidataProvider{m.e}).fetch(context.Background()); !errors.Is(err, errAbsent) {
		t.Errorf("err %v", err)
	}
	if len(m.mounted) != 0 {
		t.Errorf("mounted %q", m.mounted)
	}
}

func TestCDROMReadsLinuxKitsConfigFile(t *testing.T) {
	m := newMachine(t)
	m.disk("sr0", isoHeader(""), map[string]string{"other": "x"})
	m.disk("sr1", isoHeader("ISOIMAGE"), map[string]string{"config": `{"a":{"content":"b"}}`})
	d, err := cdromProvider{m.e}.fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.Provider != "CDROM "+filepath.Join(m.e.dev, "sr1") || string(d.UserData) != `{"a":{"content":"b"}}` {
		t.Errorf("%+v", d)
	}
}

func TestFwCfgReadsTheNoCloudEntries(t *testing.T) {
	m := newMachine(t)
	base := filepath.Join(m.e.sys, "firmware/qemu_fw_cfg/by_name/opt/org.keel")
	m.write(filepath.Join(base, "user-data/raw"), "hello")
	m.write(filepath.Join(base, "meta-data/raw"), "local-hostname: fw\n")
	d, err := fwcfgProvider{m.e}.fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.Provider != "fw_cfg" || string(d.UserData) != "hello" || d.Hostname != "fw" || d.NetworkConfig != nil {
		t.Errorf("%+v", d)
	}
}

func TestFwCfgIsAbsentWithoutEntries(t *testing.T) {
	m := newMachine(t)
	if _, err := (fwcfgProvider{m.e}).fetch(context.Background()); !errors.Is(err, errAbsent) {
		t.Errorf("no fw_cfg: %v", err)
	}
	m.write(filepath.Join(m.e.sys, "firmware/qemu_fw_cfg/by_name/etc/boot-fail-wait/raw"), "x")
	if _, err := (fwcfgProvider{m.e}).fetch(context.Background()); !errors.Is(err, errAbsent) {
		t.Errorf("no keel entries: %v", err)
	}
}

func TestCmdlineDecodesBase64UserData(t *testing.T) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding} {
		line := "console=ttyS0 keel.userdata=" + enc.EncodeToString([]byte("#cloud-config\nhostname: k?>\n")) + " quiet"
		got, err := cmdlineUserData(line)
		if err != nil || string(got) != "#cloud-config\nhostname: k?>\n" {
			t.Errorf("%q: %q %v", line, got, err)
		}
	}
	if _, err := cmdlineUserData("quiet"); !errors.Is(err, errAbsent) {
		t.Errorf("no key: %v", err)
	}
	if _, err := cmdlineUserData("keel.userdata=!!"); err == nil || errors.Is(err, errAbsent) {
		t.Errorf("bad base64: %v", err)
	}
}

// The line is split as the kernel and PID 1 split it: a quoted value is one parameter and
// its quotes are not part of it, and a key inside another parameter's quotes is not a key.
func TestCmdlineUserDataIsSplitAsTheKernelCommandLineParser(t *testing.T) {
	ud := base64.StdEncoding.EncodeToString([]byte("#cloud-config\n"))
	other := base64.StdEncoding.EncodeToString([]byte("other"))
	for _, line := range []string{
		`console=ttyS0 keel.userdata="` + ud + `" quiet`,
		`dyndbg="file a.c +p" keel.userdata=` + ud + "\n",
		`keel.userdata=` + other + ` panic=-1 keel.userdata=` + ud,
		`opts="x keel.userdata=` + other + `" keel.userdata=` + ud + ` keel.shutdown_timeout=5s`,
	} {
		got, err := cmdlineUserData(line)
		if err != nil || string(got) != "#cloud-config\n" {
			t.Errorf("%q: %q %v", line, got, err)
		}
	}
	for _, line := range []string{`opts="a keel.userdata=` + ud + `"`, "keel.userdata", `keel.userdata="" quiet`} {
		if got, err := cmdlineUserData(line); !errors.Is(err, errAbsent) {
			t.Errorf("%q: %q %v, want absent", line, got, err)
		}
	}
}

func TestFileProviderReadsAFileAndBoundsItsSize(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "ud")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	prov, err := newProvider("file="+p, &env{})
	if err != nil {
		t.Fatal(err)
	}
	if d, err := prov.fetch(context.Background()); err != nil || string(d.UserData) != "x" {
		t.Errorf("%v %v", d, err)
	}
	if err := os.WriteFile(p, make([]byte, maxUserData+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := prov.fetch(context.Background()); err == nil || errors.Is(err, errAbsent) {
		t.Errorf("oversized: %v", err)
	}
	missing, _ := newProvider("file="+filepath.Join(dir, "none"), &env{})
	if _, err := missing.fetch(context.Background()); !errors.Is(err, errAbsent) {
		t.Errorf("missing: %v", err)
	}
}

func TestLabelOfReadsFAT32(t *testing.T) {
	b := make([]byte, 512)
	b[66] = 0x29
	copy(b[71:82], "cidata     ")
	copy(b[82:90], "FAT32   ")
	b[510], b[511] = 0x55, 0xAA
	if fstype, label, err := labelOf(b); fstype != "vfat" || label != "cidata" || err != nil {
		t.Errorf("%q %q %v", fstype, label, err)
	}
}

func TestVolumeFilesAreFoundUnderTheirISOLevel1Names(t *testing.T) {
	m := newMachine(t)
	m.disk("sr0", isoHeader("cidata"), map[string]string{"user_dat": "short names", "meta_dat": "instance-id: i-short\n"})
	d, err := cidataProvider{m.e}.fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if string(d.UserData) != "short names" || d.Facts["instance_id"] != "i-short" {
		t.Errorf("%+v", d)
	}
}
