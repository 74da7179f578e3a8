package initrd

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/keel-os/keel/rootfs/tree"
)

// zstdCommand is ZstdMax: the reference encoder's highest level (its optimal parser beats the
// Go encoder's) with Zstd's 32 MiB window, so unpacking needs no more memory; -T gives the
// same bytes whatever the thread count, so the output is reproducible for a zstd version.
var zstdCommand = []string{"zstd", "-q", "-c", "--no-progress", "--ultra", "-22", "--zstd=wlog=25", "-T0"}

// writeZstdCommand writes t as a cpio archive through the reference zstd command to w.
func writeZstdCommand(w io.Writer, t *tree.Tree, clamp *time.Time) error {
	bin, err := exec.LookPath(zstdCommand[0])
	if err != nil {
		return fmt.Errorf("initrd compression %s needs the zstd command (Debian package zstd): %w", ZstdMax, err)
	}
	cmd := exec.Command(bin, zstdCommand[1:]...)
	var stderr bytes.Buffer
	out := &errWriter{w: w}
	cmd.Stdout = out
	cmd.Stderr = &stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("zstd: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("zstd: %w", err)
	}
	werr := WriteCPIO(in, t, clamp)
	if cerr := in.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		// The archive is incomplete: zstd must not finish a frame that looks whole.
		_ = cmd.Process.Kill()
	}
	err = cmd.Wait()
	switch msg := strings.TrimSpace(stderr.String()); {
	case out.err != nil: // zstd stopped because its output failed
		return out.err
	case msg != "" && (err != nil || werr != nil): // zstd failed, and the writes with it
		return fmt.Errorf("zstd: %s: %w", msg, cmp.Or(err, werr))
	case werr != nil:
		return werr
	case err != nil:
		return fmt.Errorf("zstd: %w", err)
	}
	return nil
}

// errWriter remembers the first error of w.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}
