package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Linux input constants (linux/input-event-codes.h).
const (
	evKey    = 0x01
	keyPower = 116
	keyMax   = 0x2ff
)

// wordSize is the size of the kernel's unsigned long on this arch: struct timeval in
// struct input_event is two of them, and EVIOCGBIT returns arrays of them.
const wordSize = strconv.IntSize / 8

// event is the part of a struct input_event that acpid reads.
type event struct {
	typ   uint16
	code  uint16
	value int32
}

// eventSize is the size of struct input_event for a word size: a timeval (two longs),
// then type and code (u16 each) and value (s32).
func eventSize(word int) int { return 2*word + 8 }

// decodeEvent decodes one struct input_event from b (at least eventSize(word) bytes),
// written by a kernel of byte order order and word size word.
func decodeEvent(b []byte, order binary.ByteOrder, word int) event {
	b = b[2*word:]
	return event{typ: order.Uint16(b), code: order.Uint16(b[2:]), value: int32(order.Uint32(b[4:]))}
}

// isPowerPress reports whether e is the power key going down (1; 0 is a release, 2 a repeat).
func (e event) isPowerPress() bool { return e.typ == evKey && e.code == keyPower && e.value == 1 }

// readPresses reads input events from r, calling press for each power key press, until r
// fails (an unplugged device reads ENODEV) or ends.
func readPresses(r io.Reader, order binary.ByteOrder, word int, press func()) error {
	size := eventSize(word)
	buf := make([]byte, 64*size)
	n := 0
	for {
		m, err := r.Read(buf[n:])
		n += m
		done := 0
		for ; n-done >= size; done += size {
			if decodeEvent(buf[done:], order, word).isPowerPress() {
				press()
			}
		}
		n = copy(buf, buf[done:n])
		if err != nil {
			return err
		}
	}
}

// hasBit reports whether bit n is set in bits, an array of unsigned longs of size word in
// byte order order, as EVIOCGBIT returns it (on a big-endian machine bit 0 is in the last
// byte of the first long, not the first byte).
func hasBit(bits []byte, order binary.ByteOrder, word, n int) bool {
	i := n / (8 * word) * word
	if n < 0 || i+word > len(bits) {
		return false
	}
	var w uint64
	if word == 8 {
		w = order.Uint64(bits[i:])
	} else {
		w = uint64(order.Uint32(bits[i:]))
	}
	return w>>(n%(8*word))&1 == 1
}

// ioctl request numbers, in the asm-generic encoding amd64, arm64 and s390x share.
const iocRead = 2

func iocR(nr, size int) uint { return iocRead<<30 | uint(size)<<16 | uint('E')<<8 | uint(nr) }

// eviocgbit is EVIOCGBIT(ev, size): the codes of event type ev the device can emit.
func eviocgbit(ev, size int) uint { return iocR(0x20+ev, size) }

// eviocgname is EVIOCGNAME(size): the device's name.
func eviocgname(size int) uint { return iocR(0x06, size) }

// ioctlBytes runs a read ioctl that fills buf on f.
func ioctlBytes(f *os.File, req uint, buf []byte) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n uintptr
	var errno unix.Errno
	if err := rc.Control(func(fd uintptr) {
		n, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, uintptr(req), uintptr(unsafe.Pointer(&buf[0])))
	}); err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// canPowerOff reports whether the evdev device f can emit KEY_POWER.
func canPowerOff(f *os.File) (bool, error) {
	bits := make([]byte, (keyMax/(8*wordSize)+1)*wordSize)
	if _, err := ioctlBytes(f, eviocgbit(evKey, len(bits)), bits); err != nil {
		return false, fmt.Errorf("EVIOCGBIT EV_KEY: %w", err)
	}
	return hasBit(bits, binary.NativeEndian, wordSize, keyPower), nil
}

// deviceName is the device's name (EVIOCGNAME), or "" when it has none.
func deviceName(f *os.File) string {
	buf := make([]byte, 256)
	n, err := ioctlBytes(f, eviocgname(len(buf)), buf)
	if err != nil {
		return ""
	}
	return cString(buf[:n])
}

// cString is b up to its first NUL.
func cString(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\x00")
	return s
}

// errNoPowerKey: the device cannot emit KEY_POWER, so acpid does not read it.
var errNoPowerKey = errors.New("no power key")

// openPowerDevice opens an evdev device that can emit KEY_POWER and returns it with its
// name, or errNoPowerKey (the device closed) when it cannot.
func openPowerDevice(path string) (*os.File, string, error) {
	f, err := os.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, "", err
	}
	ok, err := canPowerOff(f)
	if err == nil && !ok {
		err = errNoPowerKey
	}
	if err != nil {
		f.Close()
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return f, deviceName(f), nil
}
