package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/client"
	"golang.org/x/sys/unix"
)

const (
	containerdBin    = "/usr/bin/containerd"
	containerdSocket = containerdRun + "/containerd.sock"
	containerdUser   = "/etc/containerd/config.toml"
	containerdOwn    = containerdRun + "/config.toml"
	containerdRoot   = "/var/lib/containerd" // the built-in configuration's root
)

// containerdOOMScore keeps the OOM killer off containerd: it picks a service instead, which
// PID 1 restarts. containerd gives each shim its own score plus one, and the services' specs
// set theirs (0 unless their YAML says otherwise), so they do not inherit the shim's.
const containerdOOMScore = -999

// shimLoadTimeout is how long a restarted containerd waits for each shim it reloads.
const shimLoadTimeout = "30s"

// containerdConfig is the built-in configuration: state and sockets on /system, no CRI.
const containerdConfig = `version = 4
root = "` + containerdRoot + `"
state = "` + containerdRun + `"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[plugins."io.containerd.server.v1.grpc"]
  address = "` + containerdSocket + `"

[plugins."io.containerd.server.v1.ttrpc"]
  address = "` + containerdSocket + `.ttrpc"

[debug]
  level = "warn"

# A restarted containerd reloads the running shims; one that does not answer within the load
# timeout is cleaned up, killing its task. The default 5 s is short for a loaded machine.
[timeouts]
  "io.containerd.timeout.shim.load" = "` + shimLoadTimeout + `"

[plugins."io.containerd.shim.v1.manager"]
  socket_dir = "` + shimSockets + `"
`

// containerd is the daemon, which PID 1 starts again whenever it dies (supervise_containerd.go).
// client outlives the daemon's processes: its gRPC connection reconnects to the next one.
type containerd struct {
	ctx    context.Context // the machine's lifetime: once it ends, a dead containerd stays dead
	client *client.Client
	policy restartPolicy // the restart backoff
	// spawn starts a containerd process.
	spawn func() (pid int, exited <-chan unix.WaitStatus, err error)
	// reconnect waits until a restarted process serves and returns how many running tasks
	// it re-attached.
	reconnect func(ctx context.Context, p *ctrdProc) (int, error)

	mu       sync.Mutex
	proc     *ctrdProc // the current (or last) process
	stopping bool      // stop was called: containerd is not restarted
	restarts int
}

// ctrdProc is one containerd process.
type ctrdProc struct {
	pid     int
	started time.Time
	dead    chan struct{}   // closed once it exited
	status  unix.WaitStatus // its wait status, once dead is closed
}

// startContainerd starts the daemon, waits for its socket, connects to it and supervises it.
// Every containerd process it starts writes to logFile, which stays open for the restarts.
func startContainerd(ctx context.Context, r *reaper, logFile *os.File) (*containerd, error) {
	config := containerdUser
	if _, err := os.Stat(config); err != nil {
		config = containerdOwn
		if err := os.MkdirAll(containerdRun, 0o711); err != nil {
			return nil, fmt.Errorf("mkdir %s: %w", containerdRun, err)
		}
		if err := os.WriteFile(config, []byte(containerdConfig), 0o644); err != nil {
			return nil, fmt.Errorf("write %s: %w", config, err)
		}
	}
	c := &containerd{ctx: ctx, policy: containerdRestarts}
	c.spawn = func() (int, <-chan unix.WaitStatus, error) { return spawnContainerd(r, config, logFile) }
	c.reconnect = c.reconnectClient
	c.mu.Lock()
	p, err := c.launchLocked()
	c.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("start containerd: %w", err)
	}
	if err := waitSocket(ctx, containerdSocket, p, 60*time.Second); err != nil {
		return c, err
	}
	cl, err := client.New(containerdSocket, client.WithTimeout(10*time.Second))
	if err != nil {
		return c, fmt.Errorf("connect to containerd: %w", err)
	}
	c.client = cl
	goSafe("containerd supervision", c.watch)
	return c, nil
}

// spawnContainerd starts a containerd process with its output appended to its log and its
// OOM score set before it can start a shim.
func spawnContainerd(r *reaper, config string, logFile *os.File) (int, <-chan unix.WaitStatus, error) {
	return r.start(func() (int, error) {
		cmd := exec.Command(containerdBin, "--config", config)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		cmd.SysProcAttr = &unix.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		if err := setOOMScore(cmd.Process.Pid, containerdOOMScore); err != nil {
			logf("containerd: %v", err)
		}
		return cmd.Process.Pid, nil
	})
}

// setOOMScore sets a process's oom_score_adj.
func setOOMScore(pid, score int) error {
	path := "/proc/" + strconv.Itoa(pid) + "/oom_score_adj"
	if err := os.WriteFile(path, []byte(strconv.Itoa(score)), 0); err != nil {
		return fmt.Errorf("set OOM score: %w", err)
	}
	return nil
}

// launchLocked starts a containerd process and makes it the current one. c.mu is held.
func (c *containerd) launchLocked() (*ctrdProc, error) {
	pid, exited, err := c.spawn()
	if err != nil {
		return nil, err
	}
	p := &ctrdProc{pid: pid, started: time.Now(), dead: make(chan struct{})}
	goSafe("containerd exit", func() {
		p.status = <-exited
		close(p.dead)
	})
	c.proc = p
	return p, nil
}

// waitSocket polls until the unix socket accepts connections, the daemon exits, or timeout.
// The poll is capped at 20 ms: a dial is cheap, and every service waits on it.
func waitSocket(ctx context.Context, path string, p *ctrdProc, timeout time.Duration) error {
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
		case <-p.dead:
			return fmt.Errorf("containerd exited (%s) before its socket was ready (see /var/log/containerd.log)", describeExit(p.status))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
	}
}

// stop terminates the daemon for good: SIGTERM, then SIGKILL after timeout.
func (c *containerd) stop(timeout time.Duration) error {
	c.mu.Lock()
	c.stopping = true
	p := c.proc
	c.mu.Unlock()
	if c.client != nil {
		c.client.Close()
	}
	if p == nil || isClosed(p.dead) {
		return nil
	}
	if err := unix.Kill(p.pid, unix.SIGTERM); err != nil {
		return fmt.Errorf("signal containerd: %w", err)
	}
	select {
	case <-p.dead:
		return nil
	case <-time.After(timeout):
		_ = unix.Kill(p.pid, unix.SIGKILL)
		select {
		case <-p.dead:
		case <-time.After(timeout):
		}
		return errors.New("containerd did not stop in time and was killed")
	}
}
