package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestHasNameserverNeedsANameserverLine(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		content string
		want    bool
	}{
		{"", false},
		{"# written by keel/dhcpcd\nsearch example.org\n", false},
		{"nameserver\n", false},
		{"search example.org\nnameserver 10.0.2.3\n", true},
		{"  nameserver   2001:db8::53", true},
		{"#nameserver 10.0.2.3\n", false},
	} {
		name := filepath.Join(dir, "resolv.conf")
		os.WriteFile(name, []byte(c.content), 0o644)
		if got := hasNameserver(name); got != c.want {
			t.Errorf("%q: %v, want %v", c.content, got, c.want)
		}
	}
	if hasNameserver(filepath.Join(dir, "missing")) {
		t.Error("a missing file has a name server")
	}
}

func TestWaitForNetworkReturnsOnceNothingIsMissing(t *testing.T) {
	out := captureConsole(t)
	var calls atomic.Int32
	missing := func() string {
		switch calls.Add(1) {
		case 1:
			return "no default route"
		case 2:
			return "no nameserver in /run/resolvconf/resolv.conf"
		}
		return ""
	}
	start := time.Now()
	waitForNetwork(context.Background(), 10*time.Second, "web", missing)
	if calls.Load() != 3 || time.Since(start) > 5*time.Second {
		t.Errorf("%d checks in %s; want it to return at the third", calls.Load(), time.Since(start))
	}
	if out() != "" {
		t.Errorf("console %q: want nothing logged", out())
	}
}

func TestWaitForNetworkStartsAnywayAfterTheTimeoutNamingWhatIsMissing(t *testing.T) {
	out := captureConsole(t)
	waitForNetwork(context.Background(), 150*time.Millisecond, "web", func() string { return "no nameserver in /run/resolvconf/resolv.conf" })
	if want := "service web: no nameserver in /run/resolvconf/resolv.conf after 150ms; starting anyway"; !strings.Contains(out(), want) {
		t.Errorf("console %q, want %q", out(), want)
	}
}

func TestWaitForNetworkEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan struct{})
	go func() {
		waitForNetwork(ctx, time.Hour, "web", func() string { return "no default route" })
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the wait went on after its context ended")
	}
}

func TestMakeResolvConfCreatesAnEmptyFileAndKeepsAnExistingOne(t *testing.T) {
	name := filepath.Join(t.TempDir(), "resolvconf", "resolv.conf")
	if err := makeResolvConf(name); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(name); err != nil || st.Size() != 0 || st.Mode().Perm() != 0o644 {
		t.Fatalf("stat %v %v: want an empty 0644 file", st, err)
	}
	os.WriteFile(name, []byte("nameserver 10.0.2.3\n"), 0o644)
	if err := makeResolvConf(name); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(name); string(b) != "nameserver 10.0.2.3\n" {
		t.Errorf("an existing resolv.conf became %q", b)
	}
}
