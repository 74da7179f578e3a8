package spec

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Pos is where something was written: a file name and a 1-based line. The zero Pos means
// "nowhere" (for example a value that came from an image label).
type Pos struct {
	File string
	Line int
}

// IsValid reports whether p names a file.
func (p Pos) IsValid() bool { return p.File != "" }

// String is "file:line", "file" when the line is unknown, or "" for the zero Pos.
func (p Pos) String() string {
	switch {
	case p.File == "":
		return ""
	case p.Line <= 0:
		return p.File
	default:
		return p.File + ":" + strconv.Itoa(p.Line)
	}
}

// Errorf returns an *Error at p, for later build stages:
//
//	img.Pos.Errorf("image %q not found", img.Image) // a.yml:12: image "foo:1" not found
//
// %w in format wraps as with fmt.Errorf.
func (p Pos) Errorf(format string, args ...any) error {
	return &Error{Pos: p, Err: fmt.Errorf(format, args...)}
}

// Error is one problem in a configuration, with where it was found.
type Error struct {
	Pos Pos
	// Field is the path to the offending value, e.g. `services[1] "getty": readonly`,
	// or "" when the position says enough.
	Field string
	Err   error
}

func (e *Error) Error() string {
	var b strings.Builder
	if s := e.Pos.String(); s != "" {
		b.WriteString(s)
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorList is every problem found in a set of files, in file and line order. Parse
// returns it as its error; errors.As(err, &*Error) finds the first one.
type ErrorList []*Error

func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap returns the errors, for errors.Is and errors.As.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// sortByPos orders l by file (in the order given) then line, keeping the discovery order
// of problems on the same line.
func (l ErrorList) sortByPos(files []string) {
	rank := func(f string) int {
		if i := slices.Index(files, f); i >= 0 {
			return i
		}
		return len(files)
	}
	slices.SortStableFunc(l, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(rank(a.Pos.File), rank(b.Pos.File)), cmp.Compare(a.Pos.Line, b.Pos.Line))
	})
}
