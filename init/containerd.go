package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"time"

	"github.com/containerd/containerd/v2/client"
	"golang.org/x/sys/unix"
)

const (
	containerdBin    = "/usr/bin/containerd"
	containerdSocket = "/run/containerd/containerd.sock"
	containerdUser   = "/etc/containerd/config.toml"
	containerdOwn    = "/run/containerd/config.toml"
	containerdRoot   = "/var/lib/containerd" // the built-in configuration's root
)

// containerdConfig is the built-in configuration: state on the tmpfs trees, no CRI.
const containerdConfig = `version = 4
root = "` + containerdRoot + `"
state = "/run/containerd"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "` + containerdSocket + `"

[debug]
  level = "warn"
`

// containerd is the running daemon.
type containerd struct {
	pid    int
	exited <-chan unix.WaitStatus
	client *client.Client
}

// startContainerd starts the daemon, waits for its socket and connects to it. Its output
// goes to logFile, which startContainerd closes.
func startContainerd(ctx context.Context, r *reaper, logFile *os.File) (*containerd, error) {
	defer logFile.Close()
	config := containerdUser
	if _, err := os.Stat(config); err != nil {
		config = containerdOwn
		if err := os.MkdirAll("/run/containerd", 0o711); err != nil {
			return nil, fmt.Errorf("mkdir /run/containerd: %w", err)
		}
		if err := os.WriteFile(config, []byte(containerdConfig), 0o644); err != nil {
			return nil, fmt.Errorf("write %s: %w", config, err)
		}
	}
	pid, exited, err := r.start(func() (int, error) {
		cmd := exec.Command(containerdBin, "--config", config)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		cmd.SysProcAttr = &unix.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		return cmd.Process.Pid, nil
	})
	if err != nil {
		return nil, fmt.Errorf("start containerd: %w", err)
	}
	c := &containerd{pid: pid, exited: exited}
	if err := waitSocket(ctx, containerdSocket, exited, 60*time.Second); err != nil {
		return c, err
	}
	cl, err := client.New(containerdSocket, client.WithTimeout(10*time.Second))
	if err != nil {
		return c, fmt.Errorf("connect to containerd: %w", err)
	}
	c.client = cl
	return c, nil
}

// waitSocket polls until the unix socket accepts connections, the daemon exits, or timeout.
// The poll is capped at 20 ms: a dial is cheap, and every service waits on it.
func waitSocket(ctx context.Context, path string, exited <-chan unix.WaitStatus, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for delay := 5 * time.Millisecond; ; delay = min(delay*2, 20*time.Millisecond) {
		conn, err := net.Dial("unix", path)
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("containerd socket %s not ready after %s: %w", path, timeout, err)
		}
		select {
		case ws := <-exited:
			return fmt.Errorf("containerd exited with status %d before its socket was ready (see /var/log/containerd.log)", exitCode(ws))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
	}
}

// stop terminates the daemon: SIGTERM, then SIGKILL after timeout.
func (c *containerd) stop(timeout time.Duration) error {
	if c.client != nil {
		c.client.Close()
	}
	if err := unix.Kill(c.pid, unix.SIGTERM); err != nil {
		return fmt.Errorf("signal containerd: %w", err)
	}
	select {
	case <-c.exited:
		return nil
	case <-time.After(timeout):
		_ = unix.Kill(c.pid, unix.SIGKILL)
		<-c.exited
		return errors.New("containerd did not stop in time and was killed")
	}
}
