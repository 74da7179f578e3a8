package disk

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// Run runs a program (e2fsprogs' mke2fs, resize2fs) and returns its error with its output.
func Run(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// Fsck checks the ext2/3/4 filesystem on dev with e2fsck -p (preen: fix what is safe to fix
// unattended), with -f when force is set. Exit status 1 (errors fixed) is success; 4 and
// above (errors left) are an error, as are 2 and 3 (fixed, reboot needed).
func Fsck(dev string, force bool) error {
	args := []string{"-p"}
	if force {
		args = append(args, "-f")
	}
	err := Run("e2fsck", append(args, dev)...)
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 {
		return nil
	}
	return err
}
