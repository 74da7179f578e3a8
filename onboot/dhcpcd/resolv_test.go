package main

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRenderResolvConfMergesLinksWithoutDuplicates(t *testing.T) {
	got := string(renderResolvConf([]resolverInfo{
		{DNS: []net.IP{net.IPv4(10, 0, 2, 3)}, Search: []string{"a.example"}},
		{DNS: []net.IP{net.IPv4(10, 0, 2, 3), net.ParseIP("2001:db8::53")}, Search: []string{"a.example", "b.example"}},
	}))
	want := "# written by keel/dhcpcd\nsearch a.example b.example\nnameserver 10.0.2.3\nnameserver 2001:db8::53\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestRenderResolvConfWithNothingHasNoNameserver(t *testing.T) {
	if got := string(renderResolvConf(nil)); got != "# written by keel/dhcpcd\n" {
		t.Errorf("got %q", got)
	}
}

func TestOutputsWriteResolvConfAndNTPServersAndSkipUnchangedContent(t *testing.T) {
	dir := t.TempDir()
	o := newOutputs(filepath.Join(dir, "resolvconf", "resolv.conf"), filepath.Join(dir, "dhcpcd", "ntp-servers"))
	info := resolverInfo{DNS: []net.IP{net.IPv4(10, 0, 2, 3)}, NTP: []net.IP{net.IPv4(10, 0, 2, 4), net.IPv4(10, 0, 2, 5)}}
	if err := o.set("eth0", info); err != nil {
		t.Fatal(err)
	}
	if got := read(t, o.ntpFile); got != "10.0.2.4\n10.0.2.5\n" {
		t.Errorf("ntp-servers %q", got)
	}
	st1, _ := os.Stat(o.resolvConf)
	past := time.Now().Add(-time.Hour)
	os.Chtimes(o.resolvConf, past, past)
	if err := o.set("eth0", info); err != nil {
		t.Fatal(err)
	}
	st2, _ := os.Stat(o.resolvConf)
	if !st2.ModTime().Equal(past) || !os.SameFile(st1, st2) {
		t.Error("an unchanged resolv.conf was written again")
	}
	if err := o.set("eth1", resolverInfo{DNS: []net.IP{net.IPv4(9, 9, 9, 9)}}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, o.resolvConf); got != "# written by keel/dhcpcd\nnameserver 10.0.2.3\nnameserver 9.9.9.9\n" {
		t.Errorf("resolv.conf %q", got)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "resolvconf", ".*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// resolv.conf is bound into containers, and a bind holds the inode: an existing file is
// rewritten in place so that containers see the new resolver.
func TestWriteIfChangedRewritesAnExistingFileInPlaceSoBindsSeeIt(t *testing.T) {
	name := filepath.Join(t.TempDir(), "f")
	os.WriteFile(name, []byte("old"), 0o644)
	before, _ := os.Stat(name)
	if err := writeIfChanged(name, []byte("new")); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(name)
	if !os.SameFile(before, after) {
		t.Error("the file was replaced: a bind of the old one would not see the change")
	}
	if read(t, name) != "new" || after.Mode().Perm() != 0o644 {
		t.Errorf("content %q mode %v", read(t, name), after.Mode())
	}
}

func TestWriteIfChangedCreatesANewFileWhole(t *testing.T) {
	name := filepath.Join(t.TempDir(), "sub", "f")
	if err := writeIfChanged(name, []byte("first")); err != nil {
		t.Fatal(err)
	}
	if read(t, name) != "first" {
		t.Errorf("content %q", read(t, name))
	}
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
