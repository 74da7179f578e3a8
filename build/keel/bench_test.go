package main

import (
	"io"
	"testing"
	"time"
)

func TestBenchSearchesTheMinimumMemoryByDefaultForAMinuteUnlessTold(t *testing.T) {
	o, err := benchOptions([]string{"--cache", t.TempDir(), "a.yml"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.MinMem != 4 || o.MinMemStay != time.Minute {
		t.Errorf("default MinMem %d, MinMemStay %s; want 4 MiB and 1m", o.MinMem, o.MinMemStay)
	}
	o, err = benchOptions([]string{"--cache", t.TempDir(), "--min-mem-resolution", "128", "a.yml"}, io.Discard)
	if err != nil || o.MinMem != 128 {
		t.Errorf("--min-mem-resolution 128: MinMem %d, %v", o.MinMem, err)
	}
	if _, err := benchOptions([]string{"--cache", t.TempDir(), "--min-mem-resolution", "0", "a.yml"}, io.Discard); err == nil {
		t.Error("--min-mem-resolution 0 was accepted")
	}
	o, err = benchOptions([]string{"--cache", t.TempDir(), "--min-mem=false", "--min-mem-stay", "5s", "a.yml"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.MinMem >= 0 || o.MinMemStay != 5*time.Second {
		t.Errorf("--min-mem=false --min-mem-stay 5s: MinMem %d, MinMemStay %s; want negative (skip) and 5s", o.MinMem, o.MinMemStay)
	}
	if _, err := benchOptions([]string{"--cache", t.TempDir(), "--min-mem-stay", "0s", "a.yml"}, io.Discard); err == nil {
		t.Error("--min-mem-stay 0s was accepted")
	}
}
