package main

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// The terminal modes of a pty-req (RFC 4254 section 8, RFC 8160's IUTF8): control
// characters, and flags by the termios field they are in.
var (
	modeChars = map[byte]int{
		1: unix.VINTR, 2: unix.VQUIT, 3: unix.VERASE, 4: unix.VKILL, 5: unix.VEOF, 6: unix.VEOL,
		7: unix.VEOL2, 8: unix.VSTART, 9: unix.VSTOP, 10: unix.VSUSP, 12: unix.VREPRINT,
		13: unix.VWERASE, 14: unix.VLNEXT, 18: unix.VDISCARD,
	}
	modeIflags = map[byte]uint32{
		30: unix.IGNPAR, 31: unix.PARMRK, 32: unix.INPCK, 33: unix.ISTRIP, 34: unix.INLCR,
		35: unix.IGNCR, 36: unix.ICRNL, 37: unix.IUCLC, 38: unix.IXON, 39: unix.IXANY,
		40: unix.IXOFF, 41: unix.IMAXBEL, 42: unix.IUTF8,
	}
	modeLflags = map[byte]uint32{
		50: unix.ISIG, 51: unix.ICANON, 53: unix.ECHO, 54: unix.ECHOE, 55: unix.ECHOK,
		56: unix.ECHONL, 57: unix.NOFLSH, 58: unix.TOSTOP, 59: unix.IEXTEN, 60: unix.ECHOCTL,
		61: unix.ECHOKE, 62: unix.PENDIN,
	}
	modeOflags = map[byte]uint32{
		70: unix.OPOST, 71: unix.OLCUC, 72: unix.ONLCR, 73: unix.OCRNL, 74: unix.ONOCR, 75: unix.ONLRET,
	}
)

// applyModes changes t by the encoded modes: each an opcode and a uint32, up to opcode 0.
// Opcodes sshd does not know are skipped; 160 and above have arguments of unknown size, so
// the list ends there (RFC 4254).
func applyModes(t *unix.Termios, modes []byte) {
	set := func(field *uint32, bit uint32, on bool) {
		if on {
			*field |= bit
		} else {
			*field &^= bit
		}
	}
	for len(modes) >= 5 {
		op, v := modes[0], binary.BigEndian.Uint32(modes[1:5])
		if op == 0 || op >= 160 {
			return
		}
		modes = modes[5:]
		if c, ok := modeChars[op]; ok {
			t.Cc[c] = uint8(v)
		} else if f, ok := modeIflags[op]; ok {
			set(&t.Iflag, f, v != 0)
		} else if f, ok := modeLflags[op]; ok {
			set(&t.Lflag, f, v != 0)
		} else if f, ok := modeOflags[op]; ok {
			set(&t.Oflag, f, v != 0)
		}
	}
}

// setModes applies modes to the terminal tty.
func setModes(fd int, modes []byte) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	applyModes(t, modes)
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}
