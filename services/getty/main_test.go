package main

import (
	"reflect"
	"testing"
)

func TestConsolesComeFromTheCmdlineWithoutOptions(t *testing.T) {
	got := consolesFromCmdline("quiet console=tty0 console=ttyS0,115200n8 console=ttyS0")
	if want := []string{"tty0", "ttyS0"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
	if got := consolesFromCmdline("quiet"); !reflect.DeepEqual(got, []string{"console"}) {
		t.Fatalf("no console=: got %v", got)
	}
}
