package logs

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock returns a Now that starts at start and advances by step on every call.
func clock(start time.Time, step time.Duration) func() time.Time {
	var mu sync.Mutex
	t := start
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now := t
		t = t.Add(step)
		return now
	}
}

var start = time.Date(2026, 11, 23, 16, 0, 0, 123456000, time.UTC)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func texts(lines []Line) []string {
	var out []string
	for _, l := range lines {
		out = append(out, l.Source+":"+l.Text)
	}
	return out
}

func TestWriterTimestampsLinesAndHoldsPartialLine(t *testing.T) {
	dir := t.TempDir()
	var console bytes.Buffer
	// The clock is in another zone: files must show UTC.
	m := New(Options{Dir: dir, Console: &console, Now: clock(start.In(time.FixedZone("X", 3600)), time.Second)})
	defer m.Close()
	w := m.Writer("svc", true)
	path := filepath.Join(dir, "svc.log")

	fmt.Fprint(w, "hello\r\nwor")
	if got, want := readFile(t, path), "2026-11-23T16:00:00.123456Z hello\n"; got != want {
		t.Fatalf("after a partial line, file = %q, want %q", got, want)
	}
	fmt.Fprint(w, "ld\nta")
	fmt.Fprint(w, "il")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := "2026-11-23T16:00:00.123456Z hello\n" +
		"2026-11-23T16:00:01.123456Z world\n" +
		"2026-11-23T16:00:02.123456Z tail\n"
	if got := readFile(t, path); got != want {
		t.Errorf("file = %q, want %q", got, want)
	}
	if got, want := console.String(), "hello\nworld\ntail\n"; got != want {
		t.Errorf("console = %q, want %q", got, want)
	}
	if _, err := w.Write([]byte("x\n")); err == nil {
		t.Error("write after Close succeeded")
	}
}

func TestNonConsoleSourceStaysOffConsole(t *testing.T) {
	var console bytes.Buffer
	m := New(Options{Dir: t.TempDir(), Console: &console})
	defer m.Close()
	fmt.Fprintln(m.Writer("quiet", false), "secret")
	if console.Len() != 0 {
		t.Errorf("console = %q, want nothing", console.String())
	}
}

func TestManagerCloseWritesPartialLines(t *testing.T) {
	dir := t.TempDir()
	m := New(Options{Dir: dir, Now: clock(start, time.Second)})
	fmt.Fprint(m.Writer("a", false), "no newline")
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := readFile(t, filepath.Join(dir, "a.log")), "2026-11-23T16:00:00.123456Z no newline\n"; got != want {
		t.Errorf("file = %q, want %q", got, want)
	}
	if _, err := m.Writer("a", false).Write([]byte("late\n")); err == nil {
		t.Error("write after Manager.Close succeeded")
	}
}

func TestLongLineWithoutNewlineIsSplit(t *testing.T) {
	m := New(Options{Dir: t.TempDir()})
	defer m.Close()
	w := m.Writer("a", false)
	w.Write(bytes.Repeat([]byte("x"), maxLine+10))
	lines := m.Tail(nil, 0)
	if len(lines) != 1 || len(lines[0].Text) != maxLine {
		t.Fatalf("got %d lines, want one of %d bytes", len(lines), maxLine)
	}
	w.Close()
	if lines = m.Tail(nil, 0); len(lines) != 2 || len(lines[1].Text) != 10 {
		t.Errorf("after Close, got %d lines, want the 10-byte rest as a second line", len(lines))
	}
}

func TestTailMergesSourcesByTimeAndReturnsNewestN(t *testing.T) {
	m := New(Options{Dir: t.TempDir(), Now: clock(start, time.Millisecond)})
	defer m.Close()
	a, b, c := m.Writer("a", false), m.Writer("b", false), m.Writer("c", false)
	fmt.Fprintln(a, "a1")
	fmt.Fprintln(b, "b1")
	fmt.Fprintln(c, "c1")
	fmt.Fprintln(a, "a2")
	fmt.Fprintln(b, "b2")
	fmt.Fprintln(a, "a3")

	got := strings.Join(texts(m.Tail([]string{"a", "b"}, 4)), " ")
	if want := "b:b1 a:a2 b:b2 a:a3"; got != want {
		t.Errorf("Tail(a,b,4) = %s, want %s", got, want)
	}
	got = strings.Join(texts(m.Tail(nil, 0)), " ")
	if want := "a:a1 b:b1 c:c1 a:a2 b:b2 a:a3"; got != want {
		t.Errorf("Tail(all) = %s, want %s", got, want)
	}
	if got := m.Tail([]string{"missing"}, 5); len(got) != 0 {
		t.Errorf("Tail(missing) = %v, want nothing", got)
	}
	l := m.Tail([]string{"c"}, 1)[0]
	if !l.Time.Equal(start.Add(2 * time.Millisecond)) {
		t.Errorf("c1 time = %v, want %v", l.Time, start.Add(2*time.Millisecond))
	}
}

func TestRingSizeBoundsLinesKeptInMemory(t *testing.T) {
	m := New(Options{Dir: t.TempDir(), RingSize: 100})
	defer m.Close()
	w := m.Writer("a", false)
	for i := range 50 {
		fmt.Fprintf(w, "line %04d\n", i) // 9 bytes + newline = 10
	}
	got := m.Tail([]string{"a"}, 0)
	if len(got) != 10 || got[0].Text != "line 0040" || got[9].Text != "line 0049" {
		t.Errorf("kept %v, want line 0040 … line 0049", texts(got))
	}
}

func TestFollowReceivesNewLinesAndClosesOnCancel(t *testing.T) {
	m := New(Options{Dir: t.TempDir()})
	defer m.Close()
	a, b := m.Writer("a", false), m.Writer("b", false)
	fmt.Fprintln(a, "before")
	ctx, cancel := context.WithCancel(context.Background())
	ch := m.Follow(ctx, []string{"a"})
	fmt.Fprintln(b, "other source")
	fmt.Fprintln(a, "after")

	select {
	case l := <-ch:
		if l.Source != "a" || l.Text != "after" {
			t.Errorf("got %+v, want a:after", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no line received")
	}
	cancel()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case l, ok := <-ch:
			if !ok {
				return
			}
			t.Errorf("unexpected line %+v", l)
		case <-deadline:
			t.Fatal("channel not closed after cancel")
		}
	}
}

func TestCloseEndsFollowers(t *testing.T) {
	m := New(Options{Dir: t.TempDir()})
	ch := m.Follow(context.Background(), nil)
	fmt.Fprint(m.Writer("a", false), "partial")
	done := make(chan error)
	go func() { done <- m.Close() }()
	var got []Line
	for l := range ch {
		got = append(got, l)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Text != "partial" {
		t.Errorf("follower got %v, want the flushed partial line", texts(got))
	}
	if _, ok := <-m.Follow(context.Background(), nil); ok {
		t.Error("Follow after Close returned an open channel")
	}
}

func TestSlowFollowerDoesNotBlockWriters(t *testing.T) {
	m := New(Options{Dir: t.TempDir()})
	defer m.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := m.Follow(ctx, nil) // never read until the end
	done := make(chan struct{})
	go func() {
		defer close(done)
		w := m.Writer("a", false)
		for i := range followBuffer + 100 {
			fmt.Fprintf(w, "line %d\n", i)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("writer blocked by a slow follower")
	}
	if got := m.Dropped(); got != 100 {
		t.Errorf("Dropped = %d, want 100", got)
	}
	if l := <-ch; l.Text != "line 0" {
		t.Errorf("first followed line = %q, want line 0", l.Text)
	}
}

func TestFileErrorsAreCountedAndReportedOnce(t *testing.T) {
	// Dir is a regular file, so the log directory cannot be created: like a broken disk.
	notDir := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notDir, nil, 0o644)
	var reports []string
	m := New(Options{Dir: notDir, OnError: func(src string, err error) {
		reports = append(reports, src+": "+err.Error())
	}})
	defer m.Close()
	w := m.Writer("a", false)
	for range 3 {
		if _, err := fmt.Fprintln(w, "x"); err != nil {
			t.Fatalf("write returned %v; file errors must not reach writers", err)
		}
	}
	if m.Errors() != 3 {
		t.Errorf("Errors = %d, want 3", m.Errors())
	}
	if len(reports) != 1 || !strings.Contains(reports[0], "a: create log directory") {
		t.Errorf("reports = %q, want one for source a", reports)
	}
	if got := len(m.Tail(nil, 0)); got != 3 {
		t.Errorf("ring holds %d lines, want 3", got)
	}
}

func TestConcurrentWritersKeepLinesWhole(t *testing.T) {
	dir := t.TempDir()
	m := New(Options{Dir: dir})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := m.Writer("shared", false)
			defer w.Close()
			for i := range 200 {
				// Written in two pieces: each writer's partial line is its own.
				fmt.Fprintf(w, "writer %d ", g)
				fmt.Fprintf(w, "line %d\n", i)
			}
		}()
	}
	wg.Wait()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(readFile(t, filepath.Join(dir, "shared.log")), "\n"), "\n")
	if len(lines) != 8*200 {
		t.Fatalf("%d lines, want %d", len(lines), 8*200)
	}
	for _, l := range lines {
		var g, i int
		if _, err := fmt.Sscanf(l[28:], "writer %d line %d", &g, &i); err != nil {
			t.Fatalf("mixed line %q", l)
		}
	}
}

func TestFileNameIsSafe(t *testing.T) {
	for in, want := range map[string]string{
		"getty":      "getty.log",
		"../etc/x":   "_.._etc_x.log",
		".hidden":    "_.hidden.log",
		"":           "_.log",
		"onboot/001": "onboot_001.log",
	} {
		if got := fileName(in); got != want {
			t.Errorf("fileName(%q) = %q, want %q", in, got, want)
		}
	}
}
