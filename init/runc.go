package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/keel-os/keel/bundle"
	"golang.org/x/sys/unix"
)

// runc runs onboot and onshutdown containers, one at a time, with the runc binary.
type runc struct {
	bin    string // path of runc
	root   string // runc's state directory
	reaper *reaper
}

// exec runs runc with args and waits for it through the reaper. stdio goes to w.
func (r *runc) exec(w *os.File, args ...string) (int, error) {
	_, ch, err := r.reaper.start(func() (int, error) {
		cmd := exec.Command(r.bin, append([]string{"--root", r.root}, args...)...)
		cmd.Stdout, cmd.Stderr = w, w
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		return cmd.Process.Pid, nil
	})
	if err != nil {
		return 0, fmt.Errorf("start runc %s: %w", args[0], err)
	}
	return exitCode(<-ch), nil
}

// runContainer runs the bundle to completion and returns the container's exit code. Its
// output goes to out (a log writer that also echoes to the console). ctx cancellation kills
// the container.
func (r *runc) runContainer(ctx context.Context, b *bundle.Bundle, out io.Writer) (int, error) {
	if err := apply(preStartPlan(b.Runtime, b.Rootfs()), 0); err != nil {
		return 0, fmt.Errorf("runtime.json: %w", err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, fmt.Errorf("pipe: %w", err)
	}
	copied := make(chan struct{})
	goSafe("log "+b.Name, func() {
		defer close(copied)
		defer pr.Close()
		_, _ = io.Copy(out, pr)
	})
	code, err := r.runWithPipe(ctx, b, pw)
	pw.Close()
	<-copied
	return code, err
}

func (r *runc) runWithPipe(ctx context.Context, b *bundle.Bundle, w *os.File) (int, error) {
	id := b.Name
	// Without post-create steps one `runc run` is all; it deletes the container itself.
	if !needsPid(b.Runtime) {
		done := make(chan struct{})
		defer close(done)
		goSafe("cancel "+id, func() {
			select {
			case <-ctx.Done():
				_, _ = r.exec(w, "kill", id, "KILL")
			case <-done:
			}
		})
		code, err := r.exec(w, "run", "--bundle", b.Dir, id)
		return code, err
	}
	// Otherwise: create, apply interfaces and namespaces to its process, start, wait.
	pidFile := filepath.Join(r.root, id+".pid")
	defer os.Remove(pidFile)
	defer func() { _, _ = r.exec(w, "delete", "--force", id) }()
	code, err := r.exec(w, "create", "--bundle", b.Dir, "--pid-file", pidFile, id)
	if err != nil {
		return 0, err
	}
	if code != 0 {
		return 0, fmt.Errorf("runc create exited %d", code)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, fmt.Errorf("read pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, fmt.Errorf("pid file %q: %w", data, err)
	}
	// The container's process was reparented to PID 1 when runc create exited. It waits
	// for runc start, but it can be killed before: then it may have been reaped already.
	exited, err := r.reaper.watchRunning(pid)
	if err != nil {
		return 0, fmt.Errorf("container init: %w", err)
	}
	if err := apply(postCreatePlan(b.Runtime), pid); err != nil {
		_ = unix.Kill(pid, unix.SIGKILL)
		<-exited
		return 0, fmt.Errorf("runtime.json: %w", err)
	}
	if code, err := r.exec(w, "start", id); err != nil || code != 0 {
		_ = unix.Kill(pid, unix.SIGKILL)
		<-exited
		return 0, fmt.Errorf("runc start exited %d: %v", code, err)
	}
	select {
	case ws := <-exited:
		return exitCode(ws), nil
	case <-ctx.Done():
		_ = unix.Kill(pid, unix.SIGKILL)
		return exitCode(<-exited), ctx.Err()
	}
}
