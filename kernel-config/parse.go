package kernelconfig

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Config is a kernel .config: symbol (with its CONFIG_ prefix) → value. Values are as
// written in the file: "y", "m", a number, or a string with its double quotes; a
// "# CONFIG_X is not set" line gives "n". A symbol that is absent is off too, but unlike
// "n" it means Kconfig did not offer it (its dependencies are off, or it does not exist).
type Config map[string]string

// Request is one line of a fragment: the value it asks for a symbol.
type Request struct {
	Symbol string // with the CONFIG_ prefix
	Value  string // "y", "m", "n", a number, or a quoted string, as in a .config
	File   string // the fragment's Name
	Line   int
}

// String is the request as a .config line.
func (r Request) String() string { return assignment(r.Symbol, r.Value) }

// assignment is symbol=value as a .config writes it, "n" as "# CONFIG_X is not set".
func assignment(symbol, value string) string {
	if value == "n" {
		return "# " + symbol + " is not set"
	}
	return symbol + "=" + value
}

// ParseError is a malformed line in a config or fragment.
type ParseError struct {
	File   string // empty when the input has no name (ParseConfig)
	Line   int
	Text   string // the line
	Reason string
}

func (e *ParseError) Error() string {
	where := fmt.Sprintf("line %d", e.Line)
	if e.File != "" {
		where = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	return fmt.Sprintf("%s: %s: %q", where, e.Reason, e.Text)
}

// ParseConfig reads a .config. A symbol set twice keeps its last value, as in Kconfig.
// Comments and blank lines are skipped; any other line that is not CONFIG_X=VALUE is an
// error (a *ParseError).
func ParseConfig(r io.Reader) (Config, error) {
	cfg := Config{}
	err := scanLines(r, "", func(sym, val string, _ int) { cfg[sym] = val })
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// ParseFragment returns a fragment's requests in file order. A malformed line is an error
// naming the fragment and the line (a *ParseError).
func ParseFragment(f Fragment) ([]Request, error) {
	var reqs []Request
	err := scanLines(bytes.NewReader(f.Data), f.Name, func(sym, val string, line int) {
		reqs = append(reqs, Request{Symbol: sym, Value: val, File: f.Name, Line: line})
	})
	if err != nil {
		return nil, err
	}
	return reqs, nil
}

// ReadConfigFile reads a .config, or a gzipped one such as /proc/config.gz (recognised by
// its contents, not its name).
func ReadConfigFile(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("kernel config: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("kernel config %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	cfg, err := ParseConfig(r)
	if err != nil {
		var pe *ParseError
		if errors.As(err, &pe) {
			pe.File = path
			return nil, pe
		}
		return nil, fmt.Errorf("kernel config %s: %w", path, err)
	}
	return cfg, nil
}

// scanLines calls set for each assignment in r; name is the File of parse errors.
func scanLines(r io.Reader, name string, set func(sym, val string, line int)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		text := strings.TrimSuffix(sc.Text(), "\r")
		sym, val, reason := parseLine(text)
		if reason != "" {
			return &ParseError{File: name, Line: n, Text: text, Reason: reason}
		}
		if sym != "" {
			set(sym, val, n)
		}
	}
	if err := sc.Err(); err != nil {
		if name != "" {
			return fmt.Errorf("%s: line %d: %w", name, n+1, err)
		}
		return fmt.Errorf("line %d: %w", n+1, err)
	}
	return nil
}

// parseLine parses one line. It returns the symbol and value of an assignment, an empty
// symbol for a comment or blank line, or why the line is malformed.
func parseLine(line string) (sym, val, reason string) {
	if strings.TrimSpace(line) == "" {
		return "", "", ""
	}
	if strings.HasPrefix(line, "#") {
		// "# CONFIG_X is not set" is an assignment; any other comment is skipped, as
		// Kconfig skips it (a commented-out "# CONFIG_X=y" included).
		rest, ok := strings.CutPrefix(line, "# CONFIG_")
		if !ok {
			return "", "", ""
		}
		name, tail, ok := strings.Cut(rest, " ")
		if !ok || !strings.HasPrefix(tail, "is not set") {
			return "", "", ""
		}
		if tail != "is not set" {
			return "", "", "text after \"is not set\""
		}
		if !validName(name) {
			return "", "", "malformed symbol name"
		}
		return "CONFIG_" + name, "n", ""
	}
	if !strings.HasPrefix(line, "CONFIG_") {
		return "", "", "want CONFIG_NAME=VALUE, # CONFIG_NAME is not set, or a # comment"
	}
	sym, val, ok := strings.Cut(line, "=")
	if !ok {
		return "", "", "no '=': want CONFIG_NAME=VALUE"
	}
	if !validName(strings.TrimPrefix(sym, "CONFIG_")) {
		return "", "", "malformed symbol name (letters, digits and _ only, no spaces around '=')"
	}
	if strings.TrimRight(val, " \t") != val {
		return "", "", "trailing whitespace after the value"
	}
	if reason := checkValue(val); reason != "" {
		return "", "", reason
	}
	return sym, val, ""
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// checkValue says what is wrong with a value, or "" when it is y, m, n, a decimal or 0x hex
// number, or a double-quoted string (with \" and \\ escapes).
func checkValue(v string) string {
	switch {
	case v == "y" || v == "m" || v == "n":
		return ""
	case v == "":
		return `empty value: want y, m, n, a number or a "string"`
	case v[0] == '"':
		for i := 1; i < len(v); i++ {
			switch v[i] {
			case '\\':
				i++
			case '"':
				if i != len(v)-1 {
					return "text after the closing quote"
				}
				return ""
			}
		}
		return "unterminated string"
	case isNumber(v):
		return ""
	}
	return `bad value: want y, m, n, a number or a "string"`
}

func isNumber(v string) bool {
	digits := "0123456789"
	if h, ok := strings.CutPrefix(v, "0x"); ok {
		v, digits = h, "0123456789abcdefABCDEF"
	} else if h, ok := strings.CutPrefix(v, "0X"); ok {
		v, digits = h, "0123456789abcdefABCDEF"
	} else {
		v = strings.TrimPrefix(v, "-")
	}
	if v == "" {
		return false
	}
	for _, c := range v {
		if !strings.ContainsRune(digits, c) {
			return false
		}
	}
	return true
}

// ParseFragments parses frags in order and returns all their requests.
func ParseFragments(frags []Fragment) ([]Request, error) {
	var reqs []Request
	for _, f := range frags {
		r, err := ParseFragment(f)
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, r...)
	}
	return reqs, nil
}
