package kernel

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// maker runs the kernel's make in an out-of-tree build directory.
type maker struct {
	src, dir     string // source tree and O= build directory
	karch, cross string // ARCH= and CROSS_COMPILE=
	log          io.Writer
}

// run runs make with args; on failure the error quotes the end of its output.
func (m maker) run(ctx context.Context, args ...string) error {
	argv := append([]string{"-C", m.src, "O=" + m.dir, "ARCH=" + m.karch, "CROSS_COMPILE=" + m.cross}, args...)
	cmd := exec.CommandContext(ctx, "make", argv...)
	// Reproducible: no build user, host or time in the kernel.
	cmd.Env = append(os.Environ(), "KBUILD_BUILD_USER=keel", "KBUILD_BUILD_HOST=keel",
		"KBUILD_BUILD_TIMESTAMP=1970-01-01", "KBUILD_BUILD_VERSION=1")
	var out bytes.Buffer
	var w io.Writer = &out
	if m.log != nil {
		w = io.MultiWriter(&out, m.log)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kernel: make %s: %w\n%s", strings.Join(args, " "), err, tail(out.Bytes()))
	}
	return nil
}
