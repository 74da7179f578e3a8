package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// loginUser is the one user sshd logs in, as on LinuxKit: other names are refused.
const loginUser = "root"

// Config is what a Server needs. A zero LoginTimeout, MaxUnauth or MaxAuthTries takes
// sshd's default; a zero EvictAfter lets a new connection replace any pending one, and a
// zero RateBurst turns the per-source limit off.
type Config struct {
	HostKeys []ssh.Signer
	// KeyFiles are authorized_keys files, read again at every login attempt so that new keys
	// work without a restart. A missing file holds no keys.
	KeyFiles []string
	Shell    string   // runs commands (-c) and interactive shells (-l)
	Env      []string // the sessions' environment before TERM and SSH_*
	Home     string   // the sessions' working directory

	LoginTimeout    time.Duration // from connect to authenticated
	MaxUnauth       int           // connections not yet authenticated
	EvictAfter      time.Duration // age of a pending connection that a new one may replace
	MaxAuthTries    int
	RateBurst       int           // failed connections a source may make at once ...
	RateInterval    time.Duration // ... and one more per interval; burst 0: no limit
	AllowForwarding bool          // direct-tcpip and tcpip-forward

	Log *log.Logger
}

// attempt is what a connection tried before it logged in.
type attempt struct {
	user    string
	methods []string
}

// Server is an SSH server for root, with public keys only.
type Server struct {
	cfg     Config
	ssh     *ssh.ServerConfig
	pending *pending
	rate    *rateLimit

	mu       sync.Mutex
	closing  bool
	conns    map[net.Conn]struct{}
	sessions map[*session]struct{}
	attempts map[string]*attempt // by remote address, until the login ends
	wg       sync.WaitGroup

	lastDrop      time.Time // logDrop's last line
	dropsUnlogged int
}

// NewServer checks cfg and fills in its defaults.
func NewServer(cfg Config) (*Server, error) {
	if len(cfg.HostKeys) == 0 {
		return nil, errors.New("no host keys")
	}
	if cfg.Shell == "" {
		cfg.Shell = "/bin/sh"
	}
	if cfg.Home == "" {
		cfg.Home = "/"
	}
	if cfg.LoginTimeout <= 0 {
		cfg.LoginTimeout = 20 * time.Second
	}
	if cfg.MaxUnauth <= 0 {
		cfg.MaxUnauth = 30
	}
	if cfg.MaxAuthTries <= 0 {
		cfg.MaxAuthTries = 6
	}
	if cfg.Log == nil {
		cfg.Log = log.New(os.Stderr, "", 0)
	}
	s := &Server{
		cfg:      cfg,
		pending:  newPending(cfg.MaxUnauth, cfg.EvictAfter),
		rate:     newRateLimit(cfg.RateBurst, cfg.RateInterval),
		conns:    map[net.Conn]struct{}{},
		sessions: map[*session]struct{}{},
		attempts: map[string]*attempt{},
	}
	s.ssh = &ssh.ServerConfig{
		MaxAuthTries:      cfg.MaxAuthTries,
		PublicKeyCallback: s.checkKey,
		AuthLogCallback:   s.logAuth,
		ServerVersion:     "SSH-2.0-keel",
	}
	for _, k := range cfg.HostKeys {
		s.ssh.AddHostKey(k)
	}
	return s, nil
}

// checkKey accepts key for root when an authorized_keys file lists it now.
func (s *Server) checkKey(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	desc := keyDesc(key)
	if meta.User() != loginUser {
		s.cfg.Log.Printf("sshd: failed publickey for %s from %s %s: only root may log in", userName(meta.User()), meta.RemoteAddr(), desc)
		return nil, fmt.Errorf("user %q: only root may log in", meta.User())
	}
	ok, err := authorized(s.cfg.KeyFiles, key)
	if err != nil {
		s.cfg.Log.Printf("sshd: %v", err) // a broken file; keys read from the others still count
	}
	if !ok {
		s.cfg.Log.Printf("sshd: failed publickey for root from %s %s: key not authorized", meta.RemoteAddr(), desc)
		return nil, errors.New("key not authorized")
	}
	return &ssh.Permissions{Extensions: map[string]string{"key": desc}}, nil
}

// logAuth records the methods a connection tried, for the line that ends a failed login;
// publickey failures are logged with their key by checkKey.
func (s *Server) logAuth(meta ssh.ConnMetadata, method string, err error) {
	if err == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.attempts[meta.RemoteAddr().String()]
	if a == nil {
		return
	}
	a.user = meta.User()
	if !slices.Contains(a.methods, method) {
		a.methods = append(a.methods, method)
	}
}

// userName is u as a log line shows it: quoted unless it is a plain name.
func userName(u string) string {
	for _, r := range u {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return strconv.Quote(u)
		}
	}
	if u == "" {
		return `""`
	}
	return u
}

func keyDesc(key ssh.PublicKey) string {
	t := strings.TrimPrefix(key.Type(), "ssh-")
	if strings.HasPrefix(t, "ecdsa") {
		t = "ECDSA"
	}
	if c, ok := key.(*ssh.Certificate); ok {
		t = "CERT " + strings.TrimPrefix(c.Key.Type(), "ssh-")
	}
	return strings.ToUpper(t) + " " + ssh.FingerprintSHA256(key)
}

// authorized reports whether any of files lists key. Files that do not exist are skipped;
// unreadable ones and bad lines are reported after the others were read.
func authorized(files []string, key ssh.PublicKey) (bool, error) {
	want := key.Marshal()
	var errs []error
	for _, f := range files {
		data, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("authorized keys %s: %w", f, err))
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for n := 1; sc.Scan(); n++ {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 || line[0] == '#' {
				continue
			}
			k, _, options, _, err := ssh.ParseAuthorizedKey(line)
			if err != nil {
				errs = append(errs, fmt.Errorf("authorized keys %s:%d: %w", f, n, err))
				continue
			}
			if len(options) > 0 {
				// Options (command=, from=, ...) would restrict the key: sshd does not
				// implement them, so it does not give such a key more than it says.
				errs = append(errs, fmt.Errorf("authorized keys %s:%d: options %q not supported, key ignored", f, n, strings.Join(options, ",")))
				continue
			}
			if bytes.Equal(k.Marshal(), want) {
				return true, errors.Join(errs...)
			}
		}
	}
	return false, errors.Join(errs...)
}

// Serve accepts connections on ln until Shutdown or ln fails.
func (s *Server) Serve(ln net.Listener) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return nil
			}
			if isTemporary(err) {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			return fmt.Errorf("accept: %w", err)
		}
		s.accept(c)
	}
}

// isTemporary reports errors accept recovers from: out of file descriptors, a connection
// reset or aborted before it was accepted.
func isTemporary(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ECONNABORTED, syscall.ECONNRESET} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// logDrop logs a connection dropped before its handshake, at most one line a second, and a
// count of those left out a second after the first of them, so that a flood of
// connections does not flood the log too.
func (s *Server) logDrop(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if wait := time.Second - now.Sub(s.lastDrop); wait > 0 {
		s.dropsUnlogged++
		if s.dropsUnlogged == 1 {
			time.AfterFunc(wait, s.logDropsUnlogged)
		}
		return
	}
	s.lastDrop = now
	s.cfg.Log.Printf(format, args...)
}

func (s *Server) logDropsUnlogged() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dropsUnlogged > 0 {
		s.cfg.Log.Printf("sshd: dropped %d more connections in the last second", s.dropsUnlogged)
		s.dropsUnlogged = 0
		s.lastDrop = time.Now()
	}
}

// accept applies the limits to a new connection before any byte is read from it.
func (s *Server) accept(c net.Conn) {
	src := sourceOf(c.RemoteAddr())
	if !s.rate.take(src) {
		s.logDrop("sshd: dropped connection from %s: too many failed connections from %s", c.RemoteAddr(), src)
		c.Close()
		return
	}
	ok, evicted := s.pending.admit(c)
	if !ok {
		s.logDrop("sshd: dropped connection from %s: %d connections are logging in", c.RemoteAddr(), s.cfg.MaxUnauth)
		c.Close()
		return
	}
	if evicted != nil {
		s.cfg.Log.Printf("sshd: dropped connection from %s: not logged in after %s, making room for %s", evicted.RemoteAddr(), s.cfg.EvictAfter, c.RemoteAddr())
		evicted.Close()
	}
	if !s.track(c) {
		s.pending.done(c)
		c.Close()
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.untrack(c)
		s.handle(c, src)
	}()
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

func (s *Server) handle(c net.Conn, src string) {
	c.SetDeadline(time.Now().Add(s.cfg.LoginTimeout))
	a := &attempt{}
	s.mu.Lock()
	s.attempts[c.RemoteAddr().String()] = a
	s.mu.Unlock()
	conn, chans, reqs, err := ssh.NewServerConn(c, s.ssh)
	s.pending.done(c)
	s.mu.Lock()
	delete(s.attempts, c.RemoteAddr().String())
	user, methods := a.user, strings.Join(a.methods, ", ")
	s.mu.Unlock()
	if err != nil {
		var ae *ssh.ServerAuthError
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			s.cfg.Log.Printf("sshd: connection from %s: not logged in within %s", c.RemoteAddr(), s.cfg.LoginTimeout)
		case errors.As(err, &ae) || user != "":
			if methods == "" {
				methods = "nothing"
			}
			s.cfg.Log.Printf("sshd: failed login for %s from %s: methods tried: %s (sshd offers publickey only)", userName(user), c.RemoteAddr(), methods)
		case !isQuiet(err):
			s.cfg.Log.Printf("sshd: connection from %s: %v", c.RemoteAddr(), err)
		}
		return
	}
	c.SetDeadline(time.Time{})
	s.rate.refund(src)
	s.cfg.Log.Printf("sshd: accepted publickey for %s from %s %s", conn.User(), conn.RemoteAddr(), conn.Permissions.Extensions["key"])
	defer s.cfg.Log.Printf("sshd: disconnected %s from %s", conn.User(), conn.RemoteAddr())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fwd := &forwarder{srv: s, conn: conn, ctx: ctx}
	go fwd.globalRequests(reqs)
	var wg sync.WaitGroup
	for nc := range chans {
		switch nc.ChannelType() {
		case "session":
			ch, creqs, err := nc.Accept()
			if err != nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.serveSession(conn, ch, creqs)
			}()
		case "direct-tcpip":
			fwd.direct(nc)
		default:
			nc.Reject(ssh.UnknownChannelType, "unknown channel type "+nc.ChannelType())
		}
	}
	cancel()
	fwd.closeListeners()
	wg.Wait()
}

// isQuiet tells errors of clients that just went away (port scanners, dropped
// connections) from ones worth a line.
func isQuiet(err error) bool {
	s := err.Error()
	return strings.Contains(s, "EOF") || strings.Contains(s, "use of closed network connection") || strings.Contains(s, "connection reset")
}

// Shutdown stops accepting (the caller closes the listener), hangs up every session's
// processes, closes every connection and waits for their handlers; processes that outlive
// the hangup by hangupGrace are killed.
func (s *Server) Shutdown() {
	s.mu.Lock()
	s.closing = true
	s.signalSessions(syscall.SIGHUP)
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(hangupGrace):
	}
	s.mu.Lock()
	s.cfg.Log.Printf("sshd: %d sessions still running %s after SIGHUP: killing them", len(s.sessions), hangupGrace)
	s.signalSessions(syscall.SIGKILL)
	s.mu.Unlock()
	select {
	case <-done:
	case <-time.After(hangupGrace):
		s.cfg.Log.Printf("sshd: sessions still ending; exiting anyway")
	}
}

// hangupGrace is how long Shutdown waits after SIGHUP, and again after SIGKILL.
const hangupGrace = 2 * time.Second

func (s *Server) signalSessions(sig syscall.Signal) {
	for ss := range s.sessions {
		ss.signal(sig)
	}
}

// homeDir is the sessions' working directory, / when it does not exist.
func (s *Server) homeDir() string {
	if fi, err := os.Stat(s.cfg.Home); err == nil && fi.IsDir() {
		return s.cfg.Home
	}
	return "/"
}

// keyFilesUnder returns files as seen below root ("" or "/" for the paths as they are).
func keyFilesUnder(root string, files []string) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = filepath.Join(root, f)
	}
	return out
}
