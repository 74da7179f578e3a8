package main

import (
	"io"
	"strings"
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

func TestBenchCPUsTakesAListWhoseFirstCountIsTheMainOne(t *testing.T) {
	o, err := benchOptions([]string{"--cache", t.TempDir(), "--cpus", "1,2", "a.yml"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.CPUs != 1 || len(o.MoreCPUs) != 1 || o.MoreCPUs[0] != 2 {
		t.Errorf("--cpus 1,2: CPUs %d, MoreCPUs %v", o.CPUs, o.MoreCPUs)
	}
	for _, bad := range []string{"0", "1,1", "two", "1,"} {
		if _, err := benchOptions([]string{"--cache", t.TempDir(), "--cpus", bad, "a.yml"}, io.Discard); err == nil || !strings.Contains(err.Error(), "--cpus") {
			t.Errorf("--cpus %s: err = %v, want one naming --cpus", bad, err)
		}
	}
}
