package disk

import "testing"

func TestUnescapeUndoesTheKernelsOctalEscapes(t *testing.T) {
	for in, want := range map[string]string{
		`/var/lib/my\040disk`: "/var/lib/my disk",
		`/a\011b\134c`:        "/a\tb\\c",
		`/plain`:              "/plain",
		`/short\04`:           `/short\04`, // not three digits: kept
		`/bad\089`:            `/bad\089`,  // not octal: kept
	} {
		if got := Unescape(in); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}
