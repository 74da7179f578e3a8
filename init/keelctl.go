package main

import (
	"fmt"
	"os"

	"github.com/keel-os/keel/timeline"
)

// keelCtl is the init binary answering as keel-ctl, the in-guest control command.
func keelCtl(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Println("usage: keel-ctl analyze    print the boot timeline (" + timeline.Path + ")")
		return 2
	}
	switch args[0] {
	case "analyze":
		data, err := os.ReadFile(timeline.Path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "keel-ctl: %v\n", err)
			return 1
		}
		if err := analyze(data, os.Stdout); err != nil {
			fmt.Fprintf(os.Stderr, "keel-ctl: %v\n", err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(os.Stderr, "keel-ctl: unknown command %q\n", args[0])
	return 2
}
