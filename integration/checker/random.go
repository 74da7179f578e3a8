package main

import (
	"errors"

	"golang.org/x/sys/unix"
)

// randomPool reports whether the kernel's random pool was still uninitialised when this
// service ran. Run as the first service of a guest with no entropy source, "unready" shows
// that nothing on the boot path before it waited for the pool: a getrandom(2) that blocks
// makes the kernel gather jitter entropy until the pool is ready.
func randomPool() {
	var b [1]byte
	_, err := unix.Getrandom(b[:], unix.GRND_NONBLOCK)
	switch {
	case errors.Is(err, unix.EAGAIN):
		check("random-pool", true, "unready at uptime %s", uptime())
	case err == nil:
		check("random-pool", false, "ready at uptime %s: something before this service waited for it", uptime())
	default:
		check("random-pool", false, "getrandom: %v", err)
	}
}
