package kernel

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// maker runs the kernel's make in an out-of-tree build directory.
type maker struct {
	src, dir     string    // source tree and O= build directory
	karch, cross string    // ARCH= and CROSS_COMPILE=
	log          io.Writer // make's output as it comes; nil: none
	logFile      string    // the file that keeps all of make's output, named in errors
}

// run runs make with args; on failure the error quotes the end of its output.
func (m maker) run(ctx context.Context, args ...string) error {
	argv := append([]string{"-C", m.src, "O=" + m.dir, "ARCH=" + m.karch, "CROSS_COMPILE=" + m.cross}, args...)
	cmd := exec.CommandContext(ctx, "make", argv...)
	// Reproducible: no build user, host or time in the kernel.
	cmd.Env = append(os.Environ(), "KBUILD_BUILD_USER=keel", "KBUILD_BUILD_HOST=keel",
		"KBUILD_BUILD_TIMESTAMP=1970-01-01", "KBUILD_BUILD_VERSION=1")
	end := &tailBuffer{max: 16 << 10}
	ws := []io.Writer{end}
	if m.log != nil {
		ws = append(ws, m.log)
	}
	if m.logFile != "" {
		f, err := os.OpenFile(m.logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("kernel: make log: %w", err)
		}
		defer f.Close()
		fmt.Fprintf(f, "# make %s\n", strings.Join(argv, " "))
		ws = append(ws, f)
	}
	w := io.MultiWriter(ws...)
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Run(); err != nil {
		where := ""
		if m.logFile != "" {
			where = " (full log: " + m.logFile + ")"
		}
		return fmt.Errorf("kernel: make %s: %w%s\n%s", strings.Join(args, " "), err, where, tail(end.buf))
	}
	return nil
}

// tailBuffer keeps the last max bytes written to it, at least.
type tailBuffer struct {
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}
