package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestImagesPruneReportsWhatItRemovedAndRefusesOtherWords(t *testing.T) {
	cache := t.TempDir()
	var out, errOut bytes.Buffer
	if err := imagesCmd([]string{"prune", "--cache", cache}, &out, &errOut); err != nil {
		t.Fatalf("prune: %v\n%s", err, errOut.String())
	}
	if !strings.HasPrefix(out.String(), "removed 0 blobs, 0.0 MB, from ") {
		t.Errorf("prune of an empty store printed %q", out.String())
	}
	errOut.Reset()
	if err := imagesCmd([]string{"purge", "--cache", cache}, &out, &errOut); !errors.Is(err, errUsage) {
		t.Errorf("images purge: err = %v, want the usage error", err)
	}
	if !strings.Contains(errOut.String(), "keel images prune") {
		t.Errorf("usage printed %q, want it to name keel images prune", errOut.String())
	}
}
