package logs

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

func TestParseKmsgHeader(t *testing.T) {
	for _, tc := range []struct {
		line string
		ok   bool
		want kmsgRecord
	}{
		{"6,339,5140900,-;NET: Registered", true, kmsgRecord{6, 339, 5140900, "NET: Registered"}},
		{"12,1,0,-,caller=T1;a;b", true, kmsgRecord{12, 1, 0, "a;b"}},
		{"4,2,3,c;", true, kmsgRecord{4, 2, 3, ""}},
		{" SUBSYSTEM=net", false, kmsgRecord{}},
		{"no header", false, kmsgRecord{}},
		{"6,x,1,-;text", false, kmsgRecord{}},
		{"6,1;text", false, kmsgRecord{}},
	} {
		got, ok := parseKmsg(tc.line)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("parseKmsg(%q) = %+v, %v; want %+v, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

func TestCollectKmsgSkipsDictionaryLines(t *testing.T) {
	sample := "6,339,5140900,-;NET: Registered protocol family 10\n" +
		" SUBSYSTEM=net\n" +
		" DEVICE=+net:lo\n" +
		"7,340,5152000,-,caller=T1;lo: Disabled Privacy Extensions\n" +
		"4,341,1234000000,-;late\n" +
		"not a record\n" +
		"6,342,16000000,-;no newline at end"
	path := filepath.Join(t.TempDir(), "kmsg")
	os.WriteFile(path, []byte(sample), 0o644)
	dir := t.TempDir()
	m := New(Options{Dir: dir})
	if err := m.CollectKmsg(context.Background(), path); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range m.Tail([]string{KmsgSource}, 0) {
		got = append(got, l.Text)
	}
	want := []string{
		"[    5.140900] NET: Registered protocol family 10",
		"[    5.152000] lo: Disabled Privacy Extensions",
		"[ 1234.000000] late",
		"not a record",
		"[   16.000000] no newline at end",
	}
	if !slices.Equal(got, want) {
		t.Errorf("kmsg lines:\n%q\nwant\n%q", got, want)
	}
	m.Close()
	if _, err := os.Stat(filepath.Join(dir, "kmsg.log")); err != nil {
		t.Error(err)
	}
}

func TestCollectKmsgReturnsWhenContextEnds(t *testing.T) {
	// A FIFO blocks in read like /dev/kmsg does.
	path := filepath.Join(t.TempDir(), "kmsg")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skip(err)
	}
	feed, err := os.OpenFile(path, os.O_RDWR, 0) // does not wait for a reader
	if err != nil {
		t.Fatal(err)
	}
	defer feed.Close()
	m := New(Options{Dir: t.TempDir()})
	defer m.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.CollectKmsg(ctx, path) }()

	feed.Write([]byte("6,1,1000,-;hello\n"))
	for i := 0; len(m.Tail(nil, 0)) == 0; i++ {
		if i == 500 {
			t.Fatal("record not collected")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("CollectKmsg = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("CollectKmsg still running after cancel")
	}
}

func TestCollectKmsgMissingFile(t *testing.T) {
	m := New(Options{Dir: t.TempDir()})
	defer m.Close()
	if err := m.CollectKmsg(context.Background(), filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("no error for a missing file")
	}
}
