package logs

// lineCost is what a line counts toward a ring's size: its text and its newline.
func lineCost(text string) int { return len(text) + 1 }

// ring holds the most recent lines of a source, at most max bytes of them (see lineCost).
// Lines are kept oldest first in lines[start:]; the slice is compacted as it is consumed.
type ring struct {
	max   int
	size  int
	start int
	lines []entry
}

// push appends e, dropping the oldest lines to stay within max. A line longer than the whole
// ring is truncated.
func (r *ring) push(e entry) {
	if lineCost(e.Text) > r.max {
		e.Text = e.Text[:max(r.max-1, 0)]
	}
	r.lines = append(r.lines, e)
	r.size += lineCost(e.Text)
	for r.size > r.max {
		r.size -= lineCost(r.lines[r.start].Text)
		r.lines[r.start] = entry{}
		r.start++
	}
	if r.start > 64 && r.start > len(r.lines)/2 {
		n := copy(r.lines, r.lines[r.start:])
		clear(r.lines[n:])
		r.lines = r.lines[:n]
		r.start = 0
	}
}

// last returns a copy of the newest n lines, oldest first; every line if n <= 0.
func (r *ring) last(n int) []entry {
	held := r.lines[r.start:]
	if n > 0 && len(held) > n {
		held = held[len(held)-n:]
	}
	return append([]entry(nil), held...)
}
