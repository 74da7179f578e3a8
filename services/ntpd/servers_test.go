package main

import (
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
)

func files(m map[string]string) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		if s, ok := m[name]; ok {
			return []byte(s), nil
		}
		return nil, os.ErrNotExist
	}
}

func TestServersComeFromFlagsThenMetadataThenDHCP(t *testing.T) {
	read := files(map[string]string{
		metadataServers: "# from metadata\nntp.example.com\n\n10.0.0.1:1123\n",
		dhcpServers:     "192.0.2.1\nntp.example.com\n",
	})
	var warnings []string
	got := serverList([]string{"10.0.2.2:12300"}, []string{metadataServers, dhcpServers}, read, func(s string) { warnings = append(warnings, s) })
	want := []string{"10.0.2.2:12300", "ntp.example.com", "10.0.0.1:1123", "192.0.2.1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("servers %v, want %v", got, want)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings %v", warnings)
	}
}

func TestServersDefaultToThePoolWhenNothingNamesOne(t *testing.T) {
	got := serverList(nil, []string{metadataServers, dhcpServers}, files(nil), func(string) {})
	if !reflect.DeepEqual(got, []string{"pool.ntp.org"}) {
		t.Errorf("servers %v", got)
	}
	got = serverList(nil, []string{dhcpServers}, files(map[string]string{dhcpServers: "192.0.2.1\n"}), func(string) {})
	if !reflect.DeepEqual(got, []string{"192.0.2.1"}) {
		t.Errorf("with DHCP's server: %v, want it alone", got)
	}
}

func TestBadServerLinesAreSkippedNamingFileAndLine(t *testing.T) {
	var warnings []string
	got := serverList(nil, []string{dhcpServers}, files(map[string]string{dhcpServers: "192.0.2.1\nhost:99999\n[::1]:123\n"}),
		func(s string) { warnings = append(warnings, s) })
	if !reflect.DeepEqual(got, []string{"192.0.2.1", "[::1]:123"}) {
		t.Errorf("servers %v", got)
	}
	if len(warnings) != 1 || !strings.HasPrefix(warnings[0], dhcpServers+":2: ") {
		t.Errorf("warnings %v, want one naming %s:2", warnings, dhcpServers)
	}
}

func TestCheckServerAcceptsHostsPortsAndIPv6(t *testing.T) {
	for _, s := range []string{"pool.ntp.org", "10.0.2.2:123", "2001:db8::1", "[2001:db8::1]:123", "time"} {
		if err := checkServer(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"", "host:", "host:0", "host:x", "a/b", "[::1", "::zz"} {
		if err := checkServer(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestFlagsRejectBadValuesNamingTheFlag(t *testing.T) {
	for args, want := range map[string]string{
		"-interval 0":                    "-interval",
		"-interval 10m -max-interval 1m": "-max-interval",
		"-server a/b":                    "-server",
		"-jump -1s":                      "-jump",
		"extra":                          "unexpected argument",
	} {
		_, err := parseFlags(strings.Fields(args), io.Discard)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want one naming %s", args, err, want)
		}
	}
	o, err := parseFlags([]string{"-once", "-server", "a", "-server", "b:1"}, io.Discard)
	if err != nil || !o.once || !reflect.DeepEqual([]string(o.servers), []string{"a", "b:1"}) {
		t.Errorf("options %+v, err %v", o, err)
	}
}
