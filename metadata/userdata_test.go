package main

import (
	"bytes"
	"io"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// tree applies d to a fresh config dir inside a parent directory and returns the config dir,
// the parent (to check nothing lands beside it), the hostname set and the log.
func tree(t testing.TB, d *Data) (dir, parent, host string, logs string) {
	t.Helper()
	parent = t.TempDir()
	dir = filepath.Join(parent, "config")
	c, err := openConfigDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var buf bytes.Buffer
	if err := apply(c, d, func(h string) error { host = h; return nil }, log.New(&buf, "", 0)); err != nil {
		t.Fatalf("apply: %v", err)
	}
	return dir, parent, host, buf.String()
}

// files lists dir's regular files (relative name → content) and directories (name + "/").
func files(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if de.IsDir() {
			out[rel+"/"] = ""
			return nil
		}
		b, err := os.ReadFile(p)
		out[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func perm(t *testing.T, p string) fs.FileMode {
	t.Helper()
	st, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

const linuxkitTree = `{
  "ssh": {"entries": {"sshd_config": {"perm": "0600", "content": "PermitRootLogin yes\nPasswordAuthentication no"}}},
  "foo": {"entries": {"bar": {"content": "foobar"}, "baz": {"perm": "0600", "content": "bar"}, "sub": {"perm": "0700", "entries": {}}}},
  "top": {"content": "a file at the top"}
}`

func TestJSONUserDataExpandsIntoFilesAsLinuxKit(t *testing.T) {
	dir, _, _, logs := tree(t, &Data{Provider: "test", UserData: []byte(linuxkitTree)})
	got := files(t, dir)
	want := map[string]string{
		"provider": "test", "userdata": linuxkitTree,
		"ssh/": "", "ssh/sshd_config": "PermitRootLogin yes\nPasswordAuthentication no",
		"foo/": "", "foo/bar": "foobar", "foo/baz": "bar", "foo/sub/": "", "top": "a file at the top",
	}
	if len(got) != len(want) {
		t.Errorf("files %q, want %q", keys(got), keys(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	for p, m := range map[string]fs.FileMode{"ssh/sshd_config": 0o600, "foo/bar": 0o644, "foo/sub": 0o700, "foo": 0o755} {
		if got := perm(t, filepath.Join(dir, p)); got != m {
			t.Errorf("%s: mode %o, want %o", p, got, m)
		}
	}
	if !strings.Contains(logs, "json, 7 of 7 entries written") {
		t.Errorf("log %q", logs)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestJSONEntriesThatWouldEscapeAreRefused(t *testing.T) {
	ud := `{"..": {"entries": {"x": {"content": "no"}}}, "a": {"entries": {"../../b": {"content": "no"}, "c/../../d": {"content": "no"}, "ok": {"content": "yes"}}},
"e": {"entries": {"/abs": {"content": "no"}}}, "userdata": {"content": "no"}, "both": {"content": "x", "entries": {}}, "neither": {}, "p": {"perm": "9", "content": "x"}}`
	dir, parent, _, logs := tree(t, &Data{Provider: "t", UserData: []byte(ud)})
	if got := files(t, parent); len(got) != len(files(t, dir))+1 {
		t.Errorf("files beside the config dir: %q", keys(got))
	}
	got := files(t, dir)
	if got["a/ok"] != "yes" || got["userdata"] != ud {
		t.Errorf("valid entry or raw copy missing: %q", keys(got))
	}
	for _, name := range []string{"x", "b", "d", "abs", "both", "neither", "p"} {
		for k := range got {
			if filepath.Base(k) == name {
				t.Errorf("%s written", k)
			}
		}
	}
	for _, want := range []string{`component ".." not allowed`, `reserved`, `exactly one of content and entries`, `perm`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

func TestASymlinkInTheConfigDirDoesNotLeadOut(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "config")
	outside := filepath.Join(parent, "outside")
	for _, d := range []string{dir, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(dir, "ssh")); err != nil {
		t.Fatal(err)
	}
	c, err := openConfigDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	d := &Data{Provider: "t", SSHKeys: []string{"ssh-ed25519 AAAA k"}, UserData: []byte(`{"ssh":{"entries":{"x":{"content":"no"}}}}`)}
	if err := apply(c, d, func(string) error { return nil }, log.New(io.Discard, "", 0)); err != nil {
		t.Fatal(err)
	}
	if got := files(t, outside); len(got) != 0 {
		t.Errorf("written through the symlink: %q", keys(got))
	}
}

func TestMalformedUserDataIsReportedAndItsRawCopyWritten(t *testing.T) {
	for _, ud := range []string{`{"ssh": {"entries": `, "#cloud-config\nhostname: [unclosed\n", `{"a": "not an entry"}`} {
		dir, _, _, logs := tree(t, &Data{Provider: "t", UserData: []byte(ud)})
		got := files(t, dir)
		if got["userdata"] != ud || got["provider"] != "t" {
			t.Errorf("%q: files %q", ud, keys(got))
		}
		if !strings.Contains(logs, "user data:") {
			t.Errorf("%q: nothing reported: %q", ud, logs)
		}
	}
}

func TestOpaqueUserDataIsOnlyCopied(t *testing.T) {
	dir, _, _, _ := tree(t, &Data{Provider: "t", UserData: []byte("#!/bin/sh\necho hi\n")})
	if got := files(t, dir); len(got) != 2 || got["userdata"] != "#!/bin/sh\necho hi\n" {
		t.Errorf("files %q", keys(got))
	}
}

const cloudConfigData = `#cloud-config
hostname: from-user-data
ssh_authorized_keys:
  - ssh-ed25519 AAAA top
users:
  - default
  - name: ops
    ssh_authorized_keys: [ssh-rsa BBBB ops, ssh-ed25519 AAAA top]
write_files:
  - path: /run/config/app/settings
    content: "debug: true\n"
    permissions: "0600"
  - path: /run/config/app/blob
    encoding: b64
    content: aGVsbG8=
  - path: /etc/passwd
    content: "pwned"
  - path: /run/config/../etc/x
    content: "no"
packages: [curl]
`

func TestCloudConfigSetsHostnameKeysAndFilesUnderRunConfig(t *testing.T) {
	d := &Data{Provider: "t", Hostname: "from-provider", SSHKeys: []string{"ssh-rsa CCCC provider"}, UserData: []byte(cloudConfigData)}
	dir, _, host, logs := tree(t, d)
	got := files(t, dir)
	if host != "from-user-data" || got["hostname"] != "from-user-data" {
		t.Errorf("hostname set %q, file %q", host, got["hostname"])
	}
	if want := "ssh-rsa CCCC provider\nssh-ed25519 AAAA top\nssh-rsa BBBB ops\n"; got["ssh/authorized_keys"] != want {
		t.Errorf("authorized_keys %q, want %q", got["ssh/authorized_keys"], want)
	}
	if perm(t, filepath.Join(dir, "ssh/authorized_keys")) != 0o600 {
		t.Error("authorized_keys not 0600")
	}
	if got["app/settings"] != "debug: true\n" || got["app/blob"] != "hello" || perm(t, filepath.Join(dir, "app/settings")) != 0o600 {
		t.Errorf("write_files: %q", keys(got))
	}
	if got["userdata"] != cloudConfigData {
		t.Error("raw copy differs")
	}
	for _, want := range []string{`"/etc/passwd": only paths under /run/config`, `component ".." not allowed`, "cloud-config, 2 of 2"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

func TestAnInvalidHostnameIsReportedAndNotSet(t *testing.T) {
	dir, _, host, logs := tree(t, &Data{Provider: "t", Hostname: "bad name;rm"})
	if host != "" || files(t, dir)["hostname"] != "" || !strings.Contains(logs, "hostname") {
		t.Errorf("set %q, log %q", host, logs)
	}
}

func TestALongFQDNGivesItsFirstLabel(t *testing.T) {
	long := "vm1." + strings.Repeat("x", 70) + ".internal"
	if got := normalizeHostname(long); got != "vm1" {
		t.Errorf("got %q", got)
	}
}

func TestFactsAndNetworkConfigAreWrittenAsLinuxKitNamesThem(t *testing.T) {
	d := &Data{Provider: "NoCloud", Facts: map[string]string{"instance_id": "i-1", "local_ipv4": "10.0.0.2"}, NetworkConfig: []byte("version: 2\n")}
	dir, _, _, _ := tree(t, d)
	got := files(t, dir)
	if got["instance_id"] != "i-1" || got["local_ipv4"] != "10.0.0.2" || got["network-config"] != "version: 2\n" || got["provider"] != "NoCloud" {
		t.Errorf("files %v", got)
	}
	for k := range got {
		if strings.Contains(k, ".tmp-") {
			t.Errorf("temporary file %s left", k)
		}
	}
}

func TestWriteFileReplacesAtomicallyAndDropsSpecialBits(t *testing.T) {
	dir := t.TempDir()
	c, err := openConfigDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.writeFile("a/b", []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.writeFile("a/b", []byte("new"), 0o4755); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir); len(got) != 2 || got["a/b"] != "new" {
		t.Errorf("files %v", got)
	}
	st, _ := os.Stat(filepath.Join(dir, "a/b"))
	if st.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0 || st.Mode().Perm() != 0o755 {
		t.Errorf("mode %v", st.Mode())
	}
}

func TestDecodeContentHandlesCloudInitEncodings(t *testing.T) {
	// "hello" gzipped then base64.
	const gzb64 = "H4sIAAAAAAAA/8pIzcnJBwQAAP//hqYQNgUAAAA="
	for _, tc := range []struct{ enc, content, want string }{
		{"", "plain", "plain"}, {"text/plain", "plain", "plain"}, {"b64", "aGVs\nbG8=", "hello"},
		{"base64", "aGVsbG8=", "hello"}, {"gz+b64", gzb64, "hello"}, {"gzip+base64", gzb64, "hello"},
	} {
		got, err := decodeContent(tc.content, tc.enc)
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: %q, %v", tc.enc, got, err)
		}
	}
	if _, err := decodeContent("x", "rot13"); err == nil {
		t.Error("unknown encoding accepted")
	}
}
