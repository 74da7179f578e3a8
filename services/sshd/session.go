package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"
)

// session is one "session" channel: at most one shell, command or subsystem.
type session struct {
	srv  *Server
	conn *ssh.ServerConn
	ch   ssh.Channel

	mu      sync.Mutex
	env     []string
	pty     *ptyReq
	ptmx    *os.File
	proc    *os.Process
	exited  bool // proc was waited for: its pid may be reused
	started bool
	// pending is a signal sent while the program was starting (a hangup at shutdown that
	// raced the start): setProc delivers it, so no program outlives a hangup it missed.
	pending syscall.Signal
}

// ptyReq is RFC 4254's pty-req; modes are left to the pty's defaults.
type ptyReq struct {
	Term          string
	Cols, Rows    uint32
	Width, Height uint32
	Modes         string
}

type windowChange struct {
	Cols, Rows    uint32
	Width, Height uint32
}

// acceptedEnv are the variables a client may set (OpenSSH's usual AcceptEnv).
func acceptedEnv(name string) bool {
	return name == "TERM" || name == "LANG" || strings.HasPrefix(name, "LC_")
}

func (s *Server) serveSession(conn *ssh.ServerConn, ch ssh.Channel, reqs <-chan *ssh.Request) {
	ss := &session{srv: s, conn: conn, ch: ch}
	s.mu.Lock()
	s.sessions[ss] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.sessions, ss)
		s.mu.Unlock()
		ch.Close()
	}()
	done := make(chan struct{})
	for {
		select {
		case req, ok := <-reqs:
			if !ok {
				// The client closed the channel: hang up, and wait for a started
				// program, whose status has nowhere to go any more.
				reqs = nil
				ss.hangup()
				if !ss.isStarted() {
					return
				}
				continue
			}
			ss.request(req, done)
		case <-done:
			if reqs != nil {
				// The status was sent: refuse what the client still asks until it closes.
				go func(reqs <-chan *ssh.Request) {
					for req := range reqs {
						req.Reply(false, nil)
					}
				}(reqs)
			}
			return
		}
	}
}

func (ss *session) isStarted() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.started
}

func (ss *session) request(req *ssh.Request, done chan struct{}) {
	switch req.Type {
	case "env":
		var kv struct{ Name, Value string }
		if ssh.Unmarshal(req.Payload, &kv) != nil || !acceptedEnv(kv.Name) {
			req.Reply(false, nil)
			return
		}
		ss.mu.Lock()
		ss.env = append(ss.env, kv.Name+"="+kv.Value)
		ss.mu.Unlock()
		req.Reply(true, nil)
	case "pty-req":
		var p ptyReq
		if ssh.Unmarshal(req.Payload, &p) != nil {
			req.Reply(false, nil)
			return
		}
		ss.mu.Lock()
		ok := !ss.started && ss.pty == nil
		if ok {
			ss.pty = &p
		}
		ss.mu.Unlock()
		req.Reply(ok, nil)
	case "window-change":
		var w windowChange
		if ssh.Unmarshal(req.Payload, &w) != nil {
			if req.WantReply {
				req.Reply(false, nil)
			}
			return
		}
		ss.mu.Lock()
		if ss.pty != nil {
			ss.pty.Cols, ss.pty.Rows = w.Cols, w.Rows
		}
		if ss.ptmx != nil {
			pty.Setsize(ss.ptmx, &pty.Winsize{Rows: uint16(w.Rows), Cols: uint16(w.Cols), X: uint16(w.Width), Y: uint16(w.Height)})
		}
		ss.mu.Unlock()
		if req.WantReply {
			req.Reply(true, nil)
		}
	case "signal":
		var sig struct{ Name string }
		ssh.Unmarshal(req.Payload, &sig)
		n := unix.SignalNum("SIG" + sig.Name)
		if n != 0 {
			ss.signal(n)
		}
		if req.WantReply {
			req.Reply(n != 0, nil)
		}
	case "shell", "exec", "subsystem":
		ss.mu.Lock()
		if ss.started {
			ss.mu.Unlock()
			req.Reply(false, nil)
			return
		}
		ss.started = true
		ss.mu.Unlock()
		var arg struct{ Value string }
		if req.Type != "shell" && ssh.Unmarshal(req.Payload, &arg) != nil {
			req.Reply(false, nil)
			close(done)
			return
		}
		if req.Type == "subsystem" && arg.Value != "sftp" {
			req.Reply(false, nil)
			close(done)
			return
		}
		req.Reply(true, nil)
		go func() {
			defer close(done)
			var status exitStatus
			if req.Type == "subsystem" {
				status = ss.sftp()
			} else {
				status = ss.run(req.Type == "shell", arg.Value)
			}
			ss.sendStatus(status)
		}()
	default:
		// x11-req, auth-agent-req@openssh.com, keepalive@openssh.com, ...
		if req.WantReply {
			req.Reply(false, nil)
		}
	}
}

// exitStatus is how a program ended: a code, or a signal.
type exitStatus struct {
	code   int
	signal string // without "SIG"
	core   bool
}

func (ss *session) sendStatus(st exitStatus) {
	if st.signal != "" {
		ss.ch.SendRequest("exit-signal", false, ssh.Marshal(struct {
			Signal     string
			CoreDumped bool
			Message    string
			Lang       string
		}{st.signal, st.core, "", ""}))
	} else {
		ss.ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(st.code)}))
	}
	ss.ch.Close()
}

// environ is the session's environment: sshd's base, the client's accepted variables, and
// SSH_CLIENT / SSH_CONNECTION as OpenSSH sets them.
func (ss *session) environ() []string {
	env := append([]string{}, ss.srv.cfg.Env...)
	ss.mu.Lock()
	if ss.pty != nil && ss.pty.Term != "" {
		env = append(env, "TERM="+ss.pty.Term)
	}
	env = append(env, ss.env...)
	ss.mu.Unlock()
	rh, rp, _ := net.SplitHostPort(ss.conn.RemoteAddr().String())
	lh, lp, _ := net.SplitHostPort(ss.conn.LocalAddr().String())
	env = append(env, "SSH_CLIENT="+rh+" "+rp+" "+lp, "SSH_CONNECTION="+rh+" "+rp+" "+lh+" "+lp)
	return env
}

// run runs an interactive shell or a command through the shell, on a pty if one was asked
// for, and returns how it ended.
func (ss *session) run(interactive bool, command string) exitStatus {
	shell := ss.srv.cfg.Shell
	var cmd *exec.Cmd
	if interactive {
		cmd = exec.Command(shell, "-l")
	} else {
		cmd = exec.Command(shell, "-c", command)
	}
	cmd.Env = ss.environ()
	if interactive {
		// A login shell reads /etc/profile, which may set PS1 from this default.
		cmd.Env = append(cmd.Env, `PS1=\h:\w# `)
	}
	cmd.Dir = ss.srv.homeDir()
	if !interactive && isLegacySCP(command) && !inPath("scp", cmd.Env) {
		fmt.Fprint(ss.ch.Stderr(), "sshd: no scp program here: scp's SFTP mode (the default of OpenSSH 9.0 and later; not -O) works\n")
		return exitStatus{code: 127}
	}
	ss.mu.Lock()
	p := ss.pty
	ss.mu.Unlock()
	var err error
	if p != nil {
		err = ss.startPTY(cmd, p)
	} else {
		err = ss.startPipes(cmd)
	}
	if err != nil {
		fmt.Fprintf(ss.ch.Stderr(), "sshd: %v\r\n", err)
		ss.srv.cfg.Log.Printf("sshd: %s from %s: %v", ss.conn.User(), ss.conn.RemoteAddr(), err)
		return exitStatus{code: 127}
	}
	return ss.wait(cmd)
}

func (ss *session) startPipes(cmd *exec.Cmd) error {
	// Own process group: a client's signal, and the hangup at close, reach the whole job.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	cmd.Stdout = ss.ch
	cmd.Stderr = ss.ch.Stderr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	ss.setProc(cmd.Process, nil)
	go func() {
		io.Copy(stdin, ss.ch)
		stdin.Close()
	}()
	return nil
}

func (ss *session) startPTY(cmd *exec.Cmd, p *ptyReq) error {
	ptmx, tty, err := pty.Open()
	if err != nil {
		return fmt.Errorf("open a pty: %w", err)
	}
	defer tty.Close() // the shell holds its own copies
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: uint16(p.Rows), Cols: uint16(p.Cols), X: uint16(p.Width), Y: uint16(p.Height)}); err != nil {
		ptmx.Close()
		return fmt.Errorf("pty size: %w", err)
	}
	if err := setModes(int(tty.Fd()), []byte(p.Modes)); err != nil {
		ss.srv.cfg.Log.Printf("sshd: terminal modes for %s: %v", ss.conn.RemoteAddr(), err)
	}
	cmd.Env = append(cmd.Env, "SSH_TTY="+tty.Name())
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	// The shell leads a new session with the pty as its controlling terminal (its fd 0).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		ptmx.Close()
		return fmt.Errorf("start %s on a pty: %w", cmd.Path, err)
	}
	ss.setProc(cmd.Process, ptmx)
	go io.Copy(ptmx, ss.ch)
	return nil
}

func (ss *session) setProc(p *os.Process, ptmx *os.File) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.proc, ss.ptmx = p, ptmx
	if ss.pending != 0 {
		syscall.Kill(-p.Pid, ss.pending)
	}
}

// wait waits for the program and, on a pty, for its output to drain.
func (ss *session) wait(cmd *exec.Cmd) exitStatus {
	ss.mu.Lock()
	ptmx := ss.ptmx
	ss.mu.Unlock()
	var out chan struct{}
	if ptmx != nil {
		out = make(chan struct{})
		go func() {
			io.Copy(ss.ch, ptmx) // ends with EIO once every holder of the tty closed it
			close(out)
		}()
	}
	err := cmd.Wait()
	ss.mu.Lock()
	ss.exited = true
	ss.mu.Unlock()
	if ptmx != nil {
		select {
		case <-out:
		case <-time.After(2 * time.Second): // a background job keeps the tty open
		}
		ss.mu.Lock()
		ss.ptmx = nil
		ss.mu.Unlock()
		ptmx.Close()
	}
	return statusOf(cmd.ProcessState, err)
}

func statusOf(ps *os.ProcessState, err error) exitStatus {
	if ps == nil {
		return exitStatus{code: 255}
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return exitStatus{signal: strings.TrimPrefix(unix.SignalName(ws.Signal()), "SIG"), core: ws.CoreDump()}
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return exitStatus{code: 255}
	}
	return exitStatus{code: ps.ExitCode()}
}

// hangup sends SIGHUP to the session's process group, as a closing terminal would.
func (ss *session) hangup() { ss.signal(syscall.SIGHUP) }

// signal sends sig to the session's process group while its program runs; one sent while
// the program is starting is delivered as soon as it has started.
func (ss *session) signal(sig syscall.Signal) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	switch {
	case ss.proc != nil && !ss.exited:
		syscall.Kill(-ss.proc.Pid, sig)
	case ss.proc == nil && ss.started && (ss.pending == 0 || sig == syscall.SIGKILL):
		ss.pending = sig
	}
}

// sftp serves the SFTP subsystem in sshd's own process, from the sessions' home directory.
func (ss *session) sftp() exitStatus {
	srv, err := sftp.NewServer(ss.ch, sftp.WithServerWorkingDirectory(ss.srv.homeDir()))
	if err != nil {
		ss.srv.cfg.Log.Printf("sshd: sftp for %s: %v", ss.conn.RemoteAddr(), err)
		return exitStatus{code: 1}
	}
	err = srv.Serve()
	srv.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		ss.srv.cfg.Log.Printf("sshd: sftp for %s: %v", ss.conn.RemoteAddr(), err)
		return exitStatus{code: 1}
	}
	return exitStatus{}
}

// isLegacySCP reports a command the scp client runs on the server in its old protocol
// ("scp -t DIR", "scp -f FILE").
func isLegacySCP(command string) bool {
	f := strings.Fields(command)
	return len(f) > 1 && f[0] == "scp"
}

// inPath reports whether PATH in env finds an executable name.
func inPath(name string, env []string) bool {
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range strings.Split(path, ":") {
		if dir == "" {
			continue
		}
		if fi, err := os.Stat(dir + "/" + name); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return true
		}
	}
	return false
}
