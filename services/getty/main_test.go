package main

import (
	"os"
	"path/filepath"
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

func TestTTYPathFindsTheNodeOfAConsoleNamedOtherwise(t *testing.T) {
	root := t.TempDir()
	write := func(p, data string) {
		t.Helper()
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("dev/ttyAMA0", "")
	write("dev/sclp_line0", "")
	write("proc/consoles", "ttyS0                -W- (EC p a)    4:64\nttysclp0             -W- (E  p  )    4:65\n")
	write("sys/dev/char/4:64/uevent", "MAJOR=4\nMINOR=64\nDEVNAME=sclp_line0\n")
	for name, want := range map[string]string{
		"ttyAMA0": "dev/ttyAMA0",    // the node has the console's name
		"ttyS0":   "dev/sclp_line0", // s390's SCLP line-mode console
		"ttyX9":   "dev/ttyX9",      // unknown: the name as is, for the error message
	} {
		if got := ttyPath(root, name); got != filepath.Join(root, want) {
			t.Errorf("ttyPath(%s) = %s, want %s", name, got, want)
		}
	}
}

func TestATTY1ShellIsAddedOnlyWhenTheMachineHasAScreen(t *testing.T) {
	root := t.TempDir()
	write := func(p, data string) {
		t.Helper()
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("dev/tty1", "")
	write("sys/class/vtconsole/vtcon0/name", "(S) dummy device\n")
	if got := withScreen(root, []string{"ttyS0"}); !reflect.DeepEqual(got, []string{"ttyS0"}) {
		t.Errorf("no screen: %v", got)
	}
	// console=tty0 is the current virtual terminal: its shell goes on tty1, once.
	if got := withScreen(root, []string{"tty0", "ttyS0", "tty1"}); !reflect.DeepEqual(got, []string{"tty1", "ttyS0"}) {
		t.Errorf("tty0: %v", got)
	}
	write("sys/class/vtconsole/vtcon1/name", "(M) frame buffer device\n")
	if got := withScreen(root, []string{"ttyS0"}); !reflect.DeepEqual(got, []string{"ttyS0", "tty1"}) {
		t.Errorf("with a framebuffer console: %v", got)
	}
}
