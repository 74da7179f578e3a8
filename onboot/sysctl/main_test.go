package main

import (
	"strings"
	"testing"
)

func TestSysctlConfParsesCommentsAndReportsBadLinesWithTheirLine(t *testing.T) {
	got, err := parse(strings.NewReader("# c\n; c\nnet.ipv4.ip_forward = 1\n-kernel.foo=2\n"), "a.conf")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].key != "net.ipv4.ip_forward" || got[0].value != "1" || got[1].key != "-kernel.foo" || got[1].origin != "a.conf:4" {
		t.Fatalf("got %+v", got)
	}
	if _, err := parse(strings.NewReader("ok = 1\nbroken\n"), "b.conf"); err == nil || !strings.Contains(err.Error(), "b.conf:2") {
		t.Fatalf("err = %v", err)
	}
}

func TestSysctlKeysMapToProcSys(t *testing.T) {
	for k, want := range map[string]string{
		"net.ipv4.ip_forward":            "/proc/sys/net/ipv4/ip_forward",
		"-kernel.keys.x":                 "/proc/sys/kernel/keys/x",
		"net/ipv4/conf/eth0.1/rp_filter": "/proc/sys/net/ipv4/conf/eth0.1/rp_filter",
	} {
		if got := procPath(k); got != want {
			t.Errorf("%s: got %s want %s", k, got, want)
		}
	}
}
