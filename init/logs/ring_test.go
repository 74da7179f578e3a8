package logs

import (
	"strings"
	"testing"
)

func TestRingDropsOldestAndStaysCompact(t *testing.T) {
	r := ring{max: 1000}
	for i := range 10000 {
		r.push(entry{Line: Line{Text: "123456789"}, seq: uint64(i)}) // cost 10
	}
	if r.size != 1000 || len(r.last(0)) != 100 {
		t.Errorf("size %d, %d lines; want 1000 bytes, 100 lines", r.size, len(r.last(0)))
	}
	if got := r.last(1)[0].seq; got != 9999 {
		t.Errorf("newest seq = %d, want 9999", got)
	}
	if len(r.lines) > 300 {
		t.Errorf("backing slice holds %d entries for 100 lines", len(r.lines))
	}
}

func TestRingTruncatesLineLongerThanRing(t *testing.T) {
	r := ring{max: 10}
	r.push(entry{Line: Line{Text: "short"}})
	r.push(entry{Line: Line{Text: strings.Repeat("x", 50)}})
	got := r.last(0)
	if len(got) != 1 || got[0].Text != strings.Repeat("x", 9) || r.size != 10 {
		t.Errorf("got %+v (size %d), want one 9-byte line", got, r.size)
	}
}
