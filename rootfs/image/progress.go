package image

import (
	"fmt"
	"io"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Progress reports the download of one blob: first with Complete 0, then as data arrives;
// Complete == Total on the last report of a successful download.
type Progress struct {
	Ref      string  // normalized reference being pulled
	Digest   v1.Hash // blob being downloaded
	Complete int64   // bytes received so far
	Total    int64   // blob size, from the manifest
}

type progressReader struct {
	r  io.Reader
	p  Progress
	fn func(Progress)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.p.Complete += int64(n)
		p.fn(p.p)
	}
	return n, err
}

// TextProgress returns a Progress hook that draws one updating line per blob on w, meant for
// a terminal: the CLI installs it when stdout is one and leaves Options.Progress nil
// otherwise.
func TextProgress(w io.Writer) func(Progress) {
	var mu sync.Mutex
	last := map[v1.Hash]int64{}
	return func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		pct := int64(100)
		if p.Total > 0 {
			pct = p.Complete * 100 / p.Total
		}
		done := p.Complete >= p.Total
		if prev, ok := last[p.Digest]; ok && prev == pct && !done {
			return
		}
		last[p.Digest] = pct
		short := p.Digest.Hex
		if len(short) > 12 {
			short = short[:12]
		}
		fmt.Fprintf(w, "\r%s: %s %s / %s (%d%%)\x1b[K", p.Ref, short, size(p.Complete), size(p.Total), pct)
		if done {
			fmt.Fprintln(w)
			delete(last, p.Digest)
		}
	}
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
