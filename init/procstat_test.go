package main

import "testing"

func TestStatParsingSurvivesParenthesesAndSpacesInTheCommandName(t *testing.T) {
	pid, st, ppid, err := parseStat("42 (a (b) c) Z 7 42 42 0 -1")
	if err != nil {
		t.Fatal(err)
	}
	if pid != 42 || st != 'Z' || ppid != 7 {
		t.Fatalf("got pid=%d state=%c ppid=%d", pid, st, ppid)
	}
	if _, _, _, err := parseStat("garbage"); err == nil {
		t.Fatal("garbage parsed")
	}
}
