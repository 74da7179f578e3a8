// Package logs collects the output of every container and the kernel log for PID 1.
//
// Each source (a container, "kmsg", ...) keeps its recent lines in a bounded in-memory ring and
// appends them, timestamped, to DIR/<source>.log, rotated by size and count like LinuxKit's
// logwrite. Lines can be read back with Tail or streamed with Follow. File errors (a full disk)
// never block or stop the writers: they are counted and reported through Options.OnError.
package logs

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for the zero fields of Options.
const (
	DefaultDir      = "/var/log"
	DefaultMaxSize  = 1 << 20
	DefaultMaxFiles = 10
	DefaultRingSize = 256 << 10

	// maxLine bounds a line held while waiting for its newline: longer output is split.
	maxLine = 64 << 10
	// followBuffer is how many lines a follower may lag behind before lines are dropped.
	followBuffer = 1024
)

// ErrClosed is returned by writes after the Manager or the writer is closed.
var ErrClosed = errors.New("logs: closed")

// Options configures a Manager. Zero fields take the defaults.
type Options struct {
	Dir      string           // directory of the log files; default "/var/log"
	MaxSize  int64            // bytes per file before rotation; default 1 MiB
	MaxFiles int              // files kept per source including the current one; default 10
	RingSize int              // bytes of recent lines kept in memory per source; default 256 KiB
	Console  io.Writer        // sources marked console also write their raw lines here
	Now      func() time.Time // clock, for tests; default time.Now
	// OnError, if set, is called when writing a source's file starts failing (once per run of
	// failures, not once per line). It must not write to the same source.
	OnError func(source string, err error)
}

// Line is one line of output, without its newline.
type Line struct {
	Time   time.Time
	Source string
	Text   string
}

// Manager owns every source's ring and log file.
type Manager struct {
	opts Options

	mu        sync.RWMutex // guards the maps and closed; held for reading while dispatching
	sources   map[string]*source
	writers   map[*writer]struct{}
	followers map[*follower]struct{}
	closed    bool
	done      chan struct{} // closed by Close: stops the Follow goroutines
	wg        sync.WaitGroup

	consoleMu sync.Mutex
	seq       atomic.Uint64 // orders lines written at the same time
	errs      atomic.Int64
	dropped   atomic.Int64
}

// source is one named stream: its ring and its rotated file.
type source struct {
	name    string
	mu      sync.Mutex
	ring    ring
	file    rotator
	failing bool // the last file write failed; OnError was called
}

type follower struct {
	ch  chan Line
	set map[string]bool // nil: every source
}

// entry is a stored line with its global sequence number.
type entry struct {
	Line
	seq uint64
}

// New returns a Manager. Nothing is created on disk until a line is written.
func New(opts Options) *Manager {
	if opts.Dir == "" {
		opts.Dir = DefaultDir
	}
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultMaxSize
	}
	if opts.MaxFiles <= 0 {
		opts.MaxFiles = DefaultMaxFiles
	}
	if opts.RingSize <= 0 {
		opts.RingSize = DefaultRingSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Manager{
		opts:      opts,
		sources:   make(map[string]*source),
		writers:   make(map[*writer]struct{}),
		followers: make(map[*follower]struct{}),
		done:      make(chan struct{}),
	}
}

// Errors returns how many lines could not be written to their file.
func (m *Manager) Errors() int64 { return m.errs.Load() }

// Dropped returns how many lines were not delivered to followers that fell behind.
func (m *Manager) Dropped() int64 { return m.dropped.Load() }

// source returns the named source, creating it.
func (m *Manager) source(name string) *source {
	m.mu.RLock()
	s := m.sources[name]
	m.mu.RUnlock()
	if s != nil {
		return s
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s = m.sources[name]; s == nil {
		s = &source{
			name: name,
			ring: ring{max: m.opts.RingSize},
			file: rotator{
				dir:      m.opts.Dir,
				name:     fileName(name),
				maxSize:  m.opts.MaxSize,
				maxFiles: m.opts.MaxFiles,
			},
		}
		m.sources[name] = s
	}
	return s
}

// emit records one complete line of s.
func (m *Manager) emit(s *source, text string, console bool) {
	s.mu.Lock()
	e := entry{Line: Line{Time: m.opts.Now().UTC(), Source: s.name, Text: text}, seq: m.seq.Add(1)}
	s.ring.push(e)
	err := s.file.write(formatLine(e.Time, text))
	report := false
	if err != nil {
		m.errs.Add(1)
		report = !s.failing
		s.failing = true
	} else {
		s.failing = false
	}
	m.dispatch(e.Line)
	s.mu.Unlock()

	if console && m.opts.Console != nil {
		m.consoleMu.Lock()
		m.opts.Console.Write(append([]byte(text), '\n'))
		m.consoleMu.Unlock()
	}
	if report && m.opts.OnError != nil {
		m.opts.OnError(s.name, err)
	}
}

// dispatch hands l to every interested follower without ever blocking.
func (m *Manager) dispatch(l Line) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for f := range m.followers {
		if f.set != nil && !f.set[l.Source] {
			continue
		}
		select {
		case f.ch <- l:
		default:
			m.dropped.Add(1)
		}
	}
}

// formatLine is the file form of a line: "2026-11-23T16:00:00.123456Z text\n".
func formatLine(t time.Time, text string) []byte {
	b := make([]byte, 0, len(text)+29)
	b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
	b = append(b, ' ')
	b = append(b, text...)
	return append(b, '\n')
}

// selected returns the named sources that exist, or every source if names is empty.
func (m *Manager) selected(names []string) []*source {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []*source
	if len(names) == 0 {
		for _, s := range m.sources {
			out = append(out, s)
		}
		return out
	}
	for _, n := range names {
		if s := m.sources[n]; s != nil && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Tail returns the newest n lines held in memory for the given sources (every source if
// sources is empty), merged by time, oldest first. n <= 0 returns every line held.
func (m *Manager) Tail(sources []string, n int) []Line {
	var all []entry
	for _, s := range m.selected(sources) {
		s.mu.Lock()
		all = append(all, s.ring.last(n)...)
		s.mu.Unlock()
	}
	slices.SortFunc(all, func(a, b entry) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	if n > 0 && len(all) > n {
		all = all[len(all)-n:]
	}
	out := make([]Line, len(all))
	for i, e := range all {
		out[i] = e.Line
	}
	return out
}

// Follow returns a channel of the lines of the given sources (every source if sources is
// empty) written after the call. The channel is closed when ctx ends or the Manager is closed.
// A follower that does not keep up loses lines (see Dropped); writers never wait for it.
func (m *Manager) Follow(ctx context.Context, sources []string) <-chan Line {
	f := &follower{ch: make(chan Line, followBuffer)}
	if len(sources) > 0 {
		f.set = make(map[string]bool, len(sources))
		for _, s := range sources {
			f.set[s] = true
		}
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		close(f.ch)
		return f.ch
	}
	m.followers[f] = struct{}{}
	m.wg.Add(1)
	m.mu.Unlock()

	go func() {
		defer m.wg.Done()
		select {
		case <-ctx.Done():
		case <-m.done:
		}
		m.mu.Lock()
		delete(m.followers, f)
		m.mu.Unlock()
		close(f.ch)
	}()
	return f.ch
}

// Writer returns a writer of the named source. Output is split into lines; a last line without
// its newline is held until the newline comes or the writer (or the Manager) is closed. If
// console is set, lines are also copied, without timestamp, to Options.Console. The writer is
// safe for concurrent use, and several writers may share a source.
func (m *Manager) Writer(source string, console bool) io.WriteCloser {
	w := &writer{m: m, src: m.source(source), console: console}
	m.mu.Lock()
	if m.closed {
		w.closed = true
	} else {
		m.writers[w] = struct{}{}
	}
	m.mu.Unlock()
	return w
}

type writer struct {
	m       *Manager
	src     *source
	console bool

	mu     sync.Mutex
	buf    []byte // the partial last line
	closed bool
}

func (w *writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, ErrClosed
	}
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.buf = append(w.buf, p...)
			for len(w.buf) >= maxLine {
				w.emit(w.buf[:maxLine])
				w.buf = append(w.buf[:0], w.buf[maxLine:]...)
			}
			break
		}
		line := p[:i]
		if len(w.buf) > 0 {
			line = append(w.buf, line...)
		}
		w.emit(line)
		w.buf = w.buf[:0]
		p = p[i+1:]
	}
	return n, nil
}

func (w *writer) emit(line []byte) {
	line = bytes.TrimSuffix(line, []byte("\r"))
	w.m.emit(w.src, string(line), w.console)
}

// Close writes the partial last line, if any. It does not close the source.
func (w *writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closeLocked()
	w.m.mu.Lock()
	delete(w.m.writers, w)
	w.m.mu.Unlock()
	return nil
}

func (w *writer) closeLocked() {
	if w.closed {
		return
	}
	if len(w.buf) > 0 {
		w.emit(w.buf)
		w.buf = nil
	}
	w.closed = true
}

// Close writes every writer's partial line, closes the followers' channels and the log files.
// Later writes return ErrClosed.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	writers := make([]*writer, 0, len(m.writers))
	for w := range m.writers {
		writers = append(writers, w)
	}
	clear(m.writers)
	m.mu.Unlock()

	for _, w := range writers {
		w.mu.Lock()
		w.closeLocked()
		w.mu.Unlock()
	}
	close(m.done)
	m.wg.Wait()

	var errs []error
	for _, s := range m.selected(nil) {
		s.mu.Lock()
		if err := s.file.close(); err != nil {
			errs = append(errs, err)
		}
		s.mu.Unlock()
	}
	return errors.Join(errs...)
}
