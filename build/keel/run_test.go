package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestRunRefusesDataAndDataFileTogether(t *testing.T) {
	for _, args := range [][]string{
		{"qemu", "--data", "x", "--data-file", "f", "img"},
		{"qemu", "--metadata", "", "--metadata-file", "f", "img"},
	} {
		var stderr bytes.Buffer
		err := runCmd(args, &stderr, &stderr)
		if !errors.Is(err, errUsage) || !strings.Contains(stderr.String(), "exclude each other") {
			t.Errorf("%q: err %v, stderr %q", args, err, stderr.String())
		}
	}
}

func TestOptStringTellsAnEmptyValueFromNone(t *testing.T) {
	var o optString
	if o.set {
		t.Fatal("set before Set")
	}
	if err := o.Set(""); err != nil || !o.set || o.String() != "" {
		t.Errorf("after Set(\"\"): %+v %v", o, err)
	}
}
