package kernel

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// progress reads make's output and reports how many files it has compiled (its "  CC " and
// "  AS " lines) of an estimate, the time taken and the time left. Live, it redraws one line
// (a terminal) at most twice a second; otherwise it prints a line a minute.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	label   string // "kernel amd64"
	live    bool
	total   int // estimated files to compile; 0: unknown
	done    int
	start   time.Time
	last    time.Time // when the last line was printed
	now     func() time.Time
	partial []byte // an unfinished line of output
	drawn   bool   // a live line is on screen
}

// Intervals between progress lines.
const (
	liveEvery  = 500 * time.Millisecond
	plainEvery = time.Minute
)

func newProgress(w io.Writer, label string, live bool, total int, now func() time.Time) *progress {
	t := now()
	return &progress{w: w, label: label, live: live, total: total, start: t, last: t, now: now}
}

// Write counts the compile lines in p; it never fails, so make's output is never cut short.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(b)
	data := b
	if len(p.partial) > 0 {
		data = append(p.partial, b...)
		p.partial = nil
	}
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		if isCompileLine(data[:i]) {
			p.done++
		}
		data = data[i+1:]
	}
	if len(data) > 0 {
		p.partial = append([]byte(nil), data...)
	}
	every := plainEvery
	if p.live {
		every = liveEvery
	}
	if t := p.now(); t.Sub(p.last) >= every {
		p.last = t
		p.print()
	}
	return n, nil
}

// isCompileLine reports whether a line of kbuild's quiet output compiles one object:
// "  CC      init/main.o", "  CC [M]  fs/fat/inode.o", "  AS      arch/x86/entry/entry_64.o".
func isCompileLine(line []byte) bool {
	return bytes.HasPrefix(line, []byte("  CC ")) || bytes.HasPrefix(line, []byte("  AS "))
}

func (p *progress) print() {
	if p.live {
		fmt.Fprintf(p.w, "\r%s\x1b[K", p.status())
		p.drawn = true
		return
	}
	fmt.Fprintln(p.w, p.status())
}

// status is the progress line: files compiled of the estimate, elapsed time and what is left.
func (p *progress) status() string {
	elapsed := p.now().Sub(p.start)
	if p.total <= 0 || p.done >= p.total {
		return fmt.Sprintf("%s: compiled %d files, %s", p.label, p.done, round(elapsed))
	}
	s := fmt.Sprintf("%s: compiled %d of ~%d files (%d%%), %s", p.label, p.done, p.total, p.done*100/p.total, round(elapsed))
	// Too few files or seconds in, the rate says little.
	if p.done >= 20 && elapsed >= 10*time.Second {
		left := time.Duration(float64(elapsed) * float64(p.total-p.done) / float64(p.done))
		s += ", about " + round(left) + " left"
	}
	return s
}

// finish ends the progress output with the final count.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live {
		if !p.drawn && p.done == 0 {
			return
		}
		fmt.Fprintf(p.w, "\r%s\x1b[K\n", p.status())
		return
	}
	if p.done > 0 {
		fmt.Fprintln(p.w, p.status())
	}
}

// round shows a duration in whole seconds, or whole minutes from ten minutes on.
func round(d time.Duration) string {
	if d >= 10*time.Minute {
		return d.Round(time.Minute).String()
	}
	return d.Round(time.Second).String()
}

// objectsFile records, per arch, how many files a cold build of the arch compiled: the
// estimate for the next one.
func objectsFile(root, arch string) string { return filepath.Join(root, arch+".objects") }

// estimate is how many files a build will compile in a build dir already holding have
// objects: the record of the arch less those, or 0 when that is unknown (no record, or a
// build dir that has them all, where what a changed config rebuilds cannot be told).
func estimate(root, arch string, have int) int {
	want := readRecord(root, arch)
	if want <= have {
		return 0
	}
	return want - have
}

func readRecord(root, arch string) int {
	data, err := os.ReadFile(objectsFile(root, arch))
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// record stores the estimate for the next cold build of arch after a build in dir that
// compiled compiled files: exact after a cold build (cold), else, with no record yet, the
// objects in dir.
func record(root, arch, dir string, cold bool, compiled int) error {
	n := compiled
	if !cold {
		if readRecord(root, arch) > 0 {
			return nil
		}
		n = countObjects(dir)
	}
	if n == 0 {
		return nil
	}
	if err := os.WriteFile(objectsFile(root, arch), []byte(strconv.Itoa(n)+"\n"), 0o644); err != nil {
		return fmt.Errorf("kernel cache: %w", err)
	}
	return nil
}

// countObjects counts the .o files under dir; 0 if it does not exist.
func countObjects(dir string) int {
	n := 0
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(d.Name(), ".o") {
			n++
		}
		return nil
	})
	return n
}
