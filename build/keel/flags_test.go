package main

import "testing"

func TestOrListJoinsWithCommasAndOr(t *testing.T) {
	for want, in := range map[string][]string{
		"": nil, "a": {"a"}, "a or b": {"a", "b"}, "a, b or c": {"a", "b", "c"},
	} {
		if got := orList(in); got != want {
			t.Errorf("orList(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestArchUsageNamesEveryArch(t *testing.T) {
	if got, want := archUsage("target architecture"), "target architecture: amd64, arm64 or s390x"; got != want {
		t.Errorf("archUsage = %q, want %q", got, want)
	}
}
