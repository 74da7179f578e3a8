package main

import "runtime/debug"

// goSafe runs fn in a goroutine that cannot take PID 1 down: a panic is logged with its stack.
func goSafe(what string, fn func()) {
	go func() {
		defer recoverLog(what)
		fn()
	}()
}

// recoverLog logs a recovered panic. It must be deferred directly.
func recoverLog(what string) {
	if r := recover(); r != nil {
		logf("panic in %s: %v\n%s", what, r, debug.Stack())
	}
}
