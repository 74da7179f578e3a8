package main

import "testing"

func TestStatParsingSurvivesParenthesesAndSpacesInTheCommandName(t *testing.T) {
	var pid, ppid int
	var st byte
	if _, err := fmtSscanStat("42 (a (b) c) Z 7 42 42 0 -1", &pid, &st, &ppid); err != nil {
		t.Fatal(err)
	}
	if pid != 42 || st != 'Z' || ppid != 7 {
		t.Fatalf("got pid=%d state=%c ppid=%d", pid, st, ppid)
	}
	if _, err := fmtSscanStat("garbage", &pid, &st, &ppid); err == nil {
		t.Fatal("garbage parsed")
	}
}
