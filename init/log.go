package main

import (
	"fmt"
	"io"
	"os"
	"sync"
)

// console serialises PID 1's messages on the console. Messages start with "keel: " so that a
// reader of the serial console can tell them from container output.
type console struct {
	mu  sync.Mutex
	out io.Writer
}

var defaultConsole = &console{out: os.Stderr}

func (c *console) printf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.out, "keel: "+format+"\n", args...)
}

func logf(format string, args ...any) { defaultConsole.printf(format, args...) }
