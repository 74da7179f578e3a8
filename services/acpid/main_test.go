package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// encodeEvent writes a struct input_event as a kernel of byte order order and word size
// word does, with a timestamp that must not be mistaken for the other fields.
func encodeEvent(order binary.ByteOrder, word int, typ, code uint16, value int32) []byte {
	b := make([]byte, eventSize(word))
	for i := 0; i < 2*word; i++ {
		b[i] = 0xa5
	}
	order.PutUint16(b[2*word:], typ)
	order.PutUint16(b[2*word+2:], code)
	order.PutUint32(b[2*word+4:], uint32(value))
	return b
}

func TestEventsDecodeInEitherByteOrderAndWordSize(t *testing.T) {
	for _, tc := range []struct {
		name  string
		order binary.ByteOrder
		word  int
	}{
		{"amd64/arm64", binary.LittleEndian, 8},
		{"s390x", binary.BigEndian, 8},
		{"32-bit little-endian", binary.LittleEndian, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := encodeEvent(tc.order, tc.word, evKey, keyPower, 1)
			if len(b) != map[int]int{8: 24, 4: 16}[tc.word] {
				t.Fatalf("struct input_event is %d bytes", len(b))
			}
			got := decodeEvent(b, tc.order, tc.word)
			if want := (event{typ: evKey, code: keyPower, value: 1}); got != want {
				t.Fatalf("got %+v want %+v", got, want)
			}
			if !got.isPowerPress() {
				t.Fatal("not a power press")
			}
			neg := decodeEvent(encodeEvent(tc.order, tc.word, 3, 0, -5), tc.order, tc.word)
			if neg.value != -5 {
				t.Fatalf("negative value decoded as %d", neg.value)
			}
		})
	}
}

func TestOnlyThePowerKeyGoingDownIsAPress(t *testing.T) {
	for _, e := range []event{
		{evKey, keyPower, 0}, // release
		{evKey, keyPower, 2}, // autorepeat
		{evKey, 142, 1},      // KEY_SLEEP
		{0x00, keyPower, 1},  // EV_SYN with the same code
		{0x04, 4, keyPower},  // EV_MSC
		{evKey, keyPower + 1, 1},
	} {
		if e.isPowerPress() {
			t.Errorf("%+v counted as a power press", e)
		}
	}
}

// chunkReader returns at most n bytes per Read, as a pipe may split writes.
type chunkReader struct {
	r io.Reader
	n int
}

func (c chunkReader) Read(p []byte) (int, error) {
	if len(p) > c.n {
		p = p[:c.n]
	}
	return c.r.Read(p)
}

func TestReadPressesCountsPressesAcrossSplitReads(t *testing.T) {
	order := binary.BigEndian
	var stream []byte
	for _, e := range []event{
		{evKey, keyPower, 1}, {0, 0, 0}, {evKey, keyPower, 0}, {0, 0, 0},
		{evKey, 30, 1}, {evKey, keyPower, 2}, {evKey, keyPower, 1},
	} {
		stream = append(stream, encodeEvent(order, 8, e.typ, e.code, e.value)...)
	}
	presses := 0
	err := readPresses(chunkReader{strings.NewReader(string(stream)), 7}, order, 8, func() { presses++ })
	if !errors.Is(err, io.EOF) {
		t.Fatalf("err = %v, want EOF", err)
	}
	if presses != 2 {
		t.Fatalf("%d presses, want 2", presses)
	}
}

func TestHasBitReadsTheKernelsLongsInNativeOrder(t *testing.T) {
	// The EV_KEY bits of a power button: KEY_POWER (116) only, as unsigned longs.
	for _, tc := range []struct {
		name  string
		order binary.ByteOrder
		word  int
	}{
		{"little-endian 64", binary.LittleEndian, 8},
		{"big-endian 64", binary.BigEndian, 8},
		{"little-endian 32", binary.LittleEndian, 4},
		{"big-endian 32", binary.BigEndian, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bits := make([]byte, (keyMax/(8*tc.word)+1)*tc.word)
			i := keyPower / (8 * tc.word) * tc.word
			if tc.word == 8 {
				tc.order.PutUint64(bits[i:], 1<<(keyPower%64))
			} else {
				tc.order.PutUint32(bits[i:], 1<<(keyPower%32))
			}
			if !hasBit(bits, tc.order, tc.word, keyPower) {
				t.Fatal("KEY_POWER not found")
			}
			for _, n := range []int{0, keyPower - 1, keyPower + 1, 142, keyMax, keyMax + 1000, -1} {
				if hasBit(bits, tc.order, tc.word, n) {
					t.Errorf("bit %d found", n)
				}
			}
		})
	}
	// Read as bytes in the wrong order, big-endian longs put the bit elsewhere.
	bits := make([]byte, 16)
	binary.BigEndian.PutUint64(bits[8:], 1<<(keyPower%64))
	if hasBit(bits, binary.LittleEndian, 8, keyPower) {
		t.Fatal("a big-endian bitmap read as little-endian matched: the test proves nothing")
	}
}

func TestIoctlNumbersMatchTheKernelHeaders(t *testing.T) {
	// From linux/input.h on x86_64: EVIOCGBIT(EV_KEY, 96), EVIOCGNAME(256).
	if got, want := eviocgbit(evKey, 96), uint(0x80604521); got != want {
		t.Errorf("EVIOCGBIT(EV_KEY, 96) = %#x, want %#x", got, want)
	}
	if got, want := eviocgname(256), uint(0x81004506); got != want {
		t.Errorf("EVIOCGNAME(256) = %#x, want %#x", got, want)
	}
}

func TestDebounceLetsOnePressThroughPerWindow(t *testing.T) {
	d := &debouncer{window: 3 * time.Second}
	t0 := time.Unix(1000, 0)
	steps := []struct {
		at    time.Duration
		reset bool
		want  bool
	}{
		{0, false, true},
		{100 * time.Millisecond, false, false},
		{2900 * time.Millisecond, false, false},
		{3 * time.Second, false, true}, // a new window from the last one let through
		{4 * time.Second, true, true},  // after a failed request
		{4500 * time.Millisecond, false, false},
	}
	for _, s := range steps {
		if s.reset {
			d.reset()
		}
		if got := d.allow(t0.Add(s.at)); got != s.want {
			t.Errorf("press at %s (reset %v): allow = %v, want %v", s.at, s.reset, got, s.want)
		}
	}
}

// fakePID1 serves the control socket on a temp unix socket and records the requests.
type fakePID1 struct {
	socket string
	status int
	mu     sync.Mutex
	got    []string
	hits   chan struct{}
}

func newFakePID1(t *testing.T, status int) *fakePID1 {
	t.Helper()
	// A short directory: a unix socket path has at most 107 bytes.
	dir, err := os.MkdirTemp("", "acpid")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	f := &fakePID1{socket: filepath.Join(dir, "control.sock"), status: status, hits: make(chan struct{}, 16)}
	l, err := net.Listen("unix", f.socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.got = append(f.got, r.Method+" "+r.URL.Path)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status)
		if f.status == http.StatusAccepted {
			fmt.Fprintln(w, `{"action":"power off"}`)
		} else {
			fmt.Fprintln(w, `{"error":"power off refused: the caller has no CAP_SYS_BOOT"}`)
		}
		f.hits <- struct{}{}
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return f
}

func (f *fakePID1) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.got...)
}

// testDaemon is a daemon whose log goes to a buffer.
func testDaemon(socket string, window time.Duration) (*daemon, func() string) {
	var mu sync.Mutex
	var log strings.Builder
	d := newDaemon("", &debouncer{window: window}, newControlClient(socket).powerOff)
	d.logf = func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(&log, "acpid: "+format+"\n", args...)
	}
	return d, func() string { mu.Lock(); defer mu.Unlock(); return log.String() }
}

func writeEvents(t *testing.T, w io.Writer, events ...event) {
	t.Helper()
	for _, e := range events {
		if _, err := w.Write(encodeEvent(binary.NativeEndian, wordSize, e.typ, e.code, e.value)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAPressThroughAPipePostsOnePoweroff(t *testing.T) {
	pid1 := newFakePID1(t, http.StatusAccepted)
	d, log := testDaemon(pid1.socket, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.serve(ctx)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { d.read("/dev/input/event0", r); close(done) }()
	// qemu's system_powerdown: a press and a release; then the button pressed again.
	writeEvents(t, w, event{evKey, keyPower, 1}, event{0, 0, 0}, event{evKey, keyPower, 0}, event{0, 0, 0})
	writeEvents(t, w, event{evKey, keyPower, 1}, event{evKey, keyPower, 0})
	select {
	case <-pid1.hits:
	case <-time.After(10 * time.Second):
		t.Fatalf("PID 1 got no request; log:\n%s", log())
	}
	w.Close()
	<-done
	// The second press reaches serve after the first request; wait for its log line.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(log(), "ignored") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := pid1.requests(); !reflect.DeepEqual(got, []string{"POST /v1/poweroff"}) {
		t.Fatalf("PID 1 got %q, want one POST /v1/poweroff; log:\n%s", got, log())
	}
	for _, want := range []string{
		"acpid: power button pressed: asking PID 1 to power off\n",
		"acpid: power button pressed again (/dev/input/event0): ignored",
		"acpid: no longer watching /dev/input/event0",
	} {
		if !strings.Contains(log(), want) {
			t.Errorf("log lacks %q:\n%s", want, log())
		}
	}
}

func TestARefusedPoweroffIsLoggedAndTheNextPressAsksAgain(t *testing.T) {
	pid1 := newFakePID1(t, http.StatusForbidden)
	d, log := testDaemon(pid1.socket, time.Minute)
	ctx := context.Background()
	d.handle(ctx, "/dev/input/event0")
	d.handle(ctx, "/dev/input/event0")
	if got := pid1.requests(); len(got) != 2 {
		t.Fatalf("PID 1 got %q, want two requests", got)
	}
	if want := "acpid: power off: POST /v1/poweroff: status 403: power off refused: the caller has no CAP_SYS_BOOT"; !strings.Contains(log(), want) {
		t.Fatalf("log lacks %q:\n%s", want, log())
	}
}

func TestANoSocketErrorNamesTheSocket(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "missing.sock")
	err := newControlClient(socket).powerOff(context.Background())
	if err == nil || !strings.Contains(err.Error(), socket) {
		t.Fatalf("err = %v, want one naming %s", err, socket)
	}
}

// fakeDevice is an evdev device whose events come from a pipe.
type fakeDevice struct {
	name string
	r    *os.File
	w    *os.File
}

func TestDevicesThatAppearLaterAreWatchedAndOthersSkipped(t *testing.T) {
	dir := t.TempDir()
	pid1 := newFakePID1(t, http.StatusAccepted)
	d, log := testDaemon(pid1.socket, time.Minute)
	d.dir = dir
	var mu sync.Mutex
	devices := map[string]*fakeDevice{}
	d.open = func(path string) (io.ReadCloser, string, error) {
		mu.Lock()
		defer mu.Unlock()
		dev := devices[filepath.Base(path)]
		if dev == nil {
			return nil, "", fmt.Errorf("%s: %w", path, errNoPowerKey)
		}
		return dev.r, dev.name, nil
	}
	newDevice := func(file, name string, power bool) *fakeDevice {
		t.Helper()
		var dev *fakeDevice
		if power {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { w.Close() })
			dev = &fakeDevice{name: name, r: r, w: w}
			mu.Lock()
			devices[file] = dev
			mu.Unlock()
		}
		if err := os.WriteFile(filepath.Join(dir, file), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		return dev
	}
	newDevice("event0", "AT Translated Set 2 keyboard", false)
	newDevice("mouse0", "not an event device", true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.serve(ctx)
	go d.watchDir(ctx)
	waitLog := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(log(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("log lacks %q:\n%s", want, log())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitLog("not watching " + filepath.Join(dir, "event0") + ": it has no power key")
	button := newDevice("event1", "Power Button", true)
	waitLog("watching " + filepath.Join(dir, "event1") + " (Power Button)")
	writeEvents(t, button.w, event{evKey, keyPower, 1}, event{evKey, keyPower, 0})
	select {
	case <-pid1.hits:
	case <-time.After(10 * time.Second):
		t.Fatalf("PID 1 got no request; log:\n%s", log())
	}
	if strings.Contains(log(), "mouse0") {
		t.Errorf("a device not named event* was probed:\n%s", log())
	}
}

func TestResponsesParseToStatusAndBody(t *testing.T) {
	status, body, err := parseResponse([]byte("HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 23\r\n\r\n{\"action\":\"power off\"}\n"))
	if err != nil || status != 202 || string(body) != "{\"action\":\"power off\"}\n" {
		t.Fatalf("got %d %q %v", status, body, err)
	}
	for _, bad := range []string{"", "HTTP/1.1 202 Accepted\r\n", "SSH-2.0\r\n\r\n", "HTTP/1.1 abc\r\n\r\n"} {
		if _, _, err := parseResponse([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestBusyboxAcpidFlagsAreIgnored(t *testing.T) {
	got := knownFlags([]string{"-f", "-c", "/etc/acpi", "-debounce", "5s", "--socket=/s", "-d", "-h"})
	if want := []string{"-debounce", "5s", "--socket=/s", "-h"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}
}

func TestInotifyNamesParsesPaddedRecords(t *testing.T) {
	record := func(name string, pad int) []byte {
		b := make([]byte, 16+len(name)+pad)
		binary.NativeEndian.PutUint32(b[12:], uint32(len(name)+pad))
		copy(b[16:], name)
		return b
	}
	b := append(record("event3", 10), record("", 0)...)
	b = append(b, record("event12", 1)...)
	if got, want := inotifyNames(b), []string{"event3", "event12"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}
}

func TestAFileThatIsNotAnInputDeviceIsRefusedNamingIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "event0")
	if err := os.WriteFile(path, make([]byte, 128), 0o600); err != nil {
		t.Fatal(err)
	}
	f, _, err := openPowerDevice(path)
	if err == nil {
		f.Close()
		t.Fatal("a regular file was taken for a power button")
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "EVIOCGBIT") {
		t.Fatalf("err = %v, want one naming %s and the ioctl", err, path)
	}
}
