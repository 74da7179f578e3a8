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

func TestQemuArgKeepsCommasOfQemusOptionLists(t *testing.T) {
	var a argsFlag
	for _, s := range []string{"-qmp", "unix:/tmp/q.sock,server=on,wait=off"} {
		if err := a.Set(s); err != nil {
			t.Fatal(err)
		}
	}
	if len(a) != 2 || a[1] != "unix:/tmp/q.sock,server=on,wait=off" {
		t.Errorf("args %q", []string(a))
	}
}
