package main

import (
	"testing"

	"github.com/urfave/cli/v3"
)

func TestCtrTalksToKeelsContainerdSocketByDefault(t *testing.T) {
	for _, f := range ctrApp().Flags {
		if sf, ok := f.(*cli.StringFlag); ok && sf.Name == "address" {
			if sf.Value != containerdSocket {
				t.Fatalf("ctr --address defaults to %q, want %q", sf.Value, containerdSocket)
			}
			return
		}
	}
	t.Fatal("ctr has no --address flag")
}
