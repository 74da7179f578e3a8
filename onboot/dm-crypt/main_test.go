package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseTakesLinuxKitsOptions(t *testing.T) {
	o, err := parse([]string{"-l", "-k", "disk.key", "secret", "/dev/vdd"}, &bytes.Buffer{}, "/dev/mapper")
	want := options{luks: true, keyFile: "/etc/dm-crypt/disk.key", name: "secret", device: "/dev/vdd", mapped: "/dev/mapper/secret"}
	if err != nil || o != want {
		t.Errorf("parse = %+v, %v; want %+v", o, err, want)
	}
	o, err = parse([]string{"--key-file", "/run/config/dm-crypt/key", "plain", "/dev/vdd"}, &bytes.Buffer{}, "/dev/mapper")
	if err != nil || o.keyFile != "/run/config/dm-crypt/key" || o.luks {
		t.Errorf("parse = %+v, %v", o, err)
	}
	for _, args := range [][]string{{"secret"}, {"a", "b", "c"}, {"../x", "/dev/vdd"}, {"", "/dev/vdd"}} {
		if _, err := parse(args, &bytes.Buffer{}, "/dev/mapper"); err == nil {
			t.Errorf("parse(%q) succeeded", args)
		}
	}
}

// volume is a fake machine: a device file, a key, and cryptsetup and mke2fs that record
// their calls; open makes the mapped "device" (a file, blank or holding ext4).
type volume struct {
	c       crypt
	dev     string
	key     string
	luks    bool   // the device holds a LUKS header
	content string // what the mapped device holds once opened: "" or "ext4"
	calls   []string
	out     bytes.Buffer
}

func newVolume(t *testing.T, devData string) *volume {
	t.Helper()
	dir := t.TempDir()
	v := &volume{dev: filepath.Join(dir, "vdd"), key: filepath.Join(dir, "key")}
	for p, data := range map[string]string{v.dev: devData, v.key: "0123456789abcdef"} {
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Truncate(v.dev, 4<<20); err != nil {
		t.Fatal(err)
	}
	mapper := filepath.Join(dir, "mapper")
	if err := os.Mkdir(mapper, 0o755); err != nil {
		t.Fatal(err)
	}
	v.c = crypt{out: &v.out, mapper: mapper,
		isLuks:  func(string) bool { return v.luks },
		waitFor: func(p string) error { _, err := os.Stat(p); return err },
		run: func(name string, args ...string) error {
			v.calls = append(v.calls, name+" "+strings.Join(args, " "))
			if name == "cryptsetup" && args[0] == "open" {
				data := make([]byte, 4<<20)
				if v.content == "ext4" {
					copy(data[1024+56:], "\x53\xef")
				}
				return os.WriteFile(filepath.Join(mapper, args[len(args)-1]), data, 0o600)
			}
			if name == "cryptsetup" && args[0] == "luksFormat" {
				v.luks = true
			}
			return nil
		}}
	return v
}

func TestLUKSIsCreatedOnABlankDeviceThenOpenedAndFormatted(t *testing.T) {
	v := newVolume(t, "")
	if code := v.c.main([]string{"-luks", "-key-file", v.key, "-label", "secret", "secret", v.dev}); code != 0 {
		t.Fatalf("dm-crypt = %d\n%s", code, v.out.String())
	}
	mapped := filepath.Join(v.c.mapper, "secret")
	want := []string{
		"cryptsetup luksFormat --batch-mode --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file " + v.key + " " + v.dev,
		"cryptsetup open --type luks --disable-keyring --key-file " + v.key + " " + v.dev + " secret",
		"mke2fs -q -F -t ext4 -L secret " + mapped,
	}
	if !reflect.DeepEqual(v.calls, want) {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(v.calls, "\n"), strings.Join(want, "\n"))
	}
}

func TestAnExistingLUKSVolumeIsOpenedAndKeepsItsFilesystem(t *testing.T) {
	v := newVolume(t, "LUKS\xba\xbe\x00\x02")
	v.luks, v.content = true, "ext4"
	if code := v.c.main([]string{"-luks", "-key-file", v.key, "secret", v.dev}); code != 0 {
		t.Fatalf("dm-crypt = %d\n%s", code, v.out.String())
	}
	if len(v.calls) != 1 || !strings.HasPrefix(v.calls[0], "cryptsetup open --type luks") {
		t.Errorf("calls = %q, want only the open", v.calls)
	}
}

func TestADeviceHoldingSomethingElseIsNotMadeLUKS(t *testing.T) {
	v := newVolume(t, "")
	f, err := os.OpenFile(v.dev, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("\x53\xef"), 1024+56); err != nil {
		t.Fatal(err)
	}
	f.Close()
	code := v.c.main([]string{"-luks", "-key-file", v.key, "secret", v.dev})
	if code != 1 || len(v.calls) != 0 || !strings.Contains(v.out.String(), "holds a ext4, not a LUKS volume: left untouched") {
		t.Errorf("dm-crypt = %d, calls %q\n%s", code, v.calls, v.out.String())
	}
}

func TestPlainMappingsUseLinuxKitsCipher(t *testing.T) {
	v := newVolume(t, "")
	v.content = "ext4"
	if code := v.c.main([]string{"-key-file", v.key, "plain", v.dev}); code != 0 {
		t.Fatalf("dm-crypt = %d\n%s", code, v.out.String())
	}
	want := []string{"cryptsetup open --type plain --cipher aes-cbc-essiv:sha256 --key-file " + v.key + " " + v.dev + " plain"}
	if !reflect.DeepEqual(v.calls, want) {
		t.Errorf("calls = %q, want %q", v.calls, want)
	}
}

func TestAnOpenVolumeAndAMissingKeyAreHandled(t *testing.T) {
	v := newVolume(t, "")
	if err := os.WriteFile(filepath.Join(v.c.mapper, "secret"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if code := v.c.main([]string{"-luks", "-key-file", v.key, "secret", v.dev}); code != 0 || len(v.calls) != 0 || !strings.Contains(v.out.String(), "open already") {
		t.Errorf("dm-crypt on an open volume = %d, calls %q\n%s", code, v.calls, v.out.String())
	}
	if code := v.c.main([]string{"-luks", "-key-file", v.key + ".missing", "other", v.dev}); code != 1 || !strings.Contains(v.out.String(), "key file") {
		t.Errorf("dm-crypt without its key = %d\n%s", code, v.out.String())
	}
}

func TestIsLuksAsksCryptsetup(t *testing.T) {
	if _, err := exec.LookPath("cryptsetup"); err != nil {
		t.Skip("no cryptsetup")
	}
	if isLuks(filepath.Join(t.TempDir(), "none")) {
		t.Error("a missing device is LUKS")
	}
}
