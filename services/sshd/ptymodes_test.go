package main

import (
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"
)

// encodeModes encodes modes as a pty-req carries them.
func encodeModes(modes ssh.TerminalModes) []byte {
	var b []byte
	for op, v := range modes {
		b = append(b, op, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return append(b, 0)
}

func TestApplyModesSetsCharactersAndFlagsAndSkipsUnknownOnes(t *testing.T) {
	tio := unix.Termios{Lflag: unix.ECHO | unix.ICANON, Oflag: unix.OPOST}
	tio.Cc[unix.VINTR] = 3
	applyModes(&tio, encodeModes(ssh.TerminalModes{
		ssh.VINTR: 2, ssh.ECHO: 0, ssh.ISIG: 1, ssh.IUTF8: 1, ssh.ONLCR: 1,
		ssh.TTY_OP_ISPEED: 38400, // a speed: not a termios flag here
		99:                1,     // unknown
	}))
	if tio.Cc[unix.VINTR] != 2 {
		t.Errorf("VINTR = %d, want 2", tio.Cc[unix.VINTR])
	}
	if tio.Lflag&unix.ECHO != 0 || tio.Lflag&unix.ICANON == 0 || tio.Lflag&unix.ISIG == 0 {
		t.Errorf("lflag %#x: want ECHO off, ICANON kept, ISIG on", tio.Lflag)
	}
	if tio.Iflag&unix.IUTF8 == 0 || tio.Oflag&(unix.OPOST|unix.ONLCR) != unix.OPOST|unix.ONLCR {
		t.Errorf("iflag %#x oflag %#x: want IUTF8, OPOST and ONLCR", tio.Iflag, tio.Oflag)
	}
}

func TestApplyModesStopsAtTheEndOrATruncatedEntry(t *testing.T) {
	var tio unix.Termios
	applyModes(&tio, []byte{0, 53, 0, 0, 0, 1})               // ends before ECHO
	applyModes(&tio, []byte{160, 0, 0, 0, 1, 53, 0, 0, 0, 1}) // 160+: sizes unknown
	applyModes(&tio, []byte{53, 0, 0})                        // truncated
	if tio.Lflag != 0 {
		t.Errorf("lflag %#x: modes after the end were applied", tio.Lflag)
	}
}
