package spec

import (
	"errors"
	"strings"
	"testing"
)

// text drops the newline after the opening backquote, so that the first line of a YAML
// literal in a test is line 1.
func text(s string) []byte { return []byte(strings.TrimPrefix(s, "\n")) }

func parse(t *testing.T, name, yml string) (*Config, error) {
	t.Helper()
	return Parse(Source{Name: name, Data: text(yml)})
}

func mustParse(t *testing.T, yml string) *Config {
	t.Helper()
	cfg, err := parse(t, "test.yml", yml)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return cfg
}

// wantError asserts that err is an ErrorList with one error containing every want.
func wantError(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", wants)
	}
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error is %T, want ErrorList: %v", err, err)
	}
	if len(list) != 1 {
		t.Fatalf("got %d errors, want 1:\n%v", len(list), err)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

func ptr[T any](v T) *T { return &v }
