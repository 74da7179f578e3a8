package main

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// syncBuffer collects the server's log lines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is a server on 127.0.0.1 with a temporary host key dir and one authorized key.
type testServer struct {
	addr    string
	srv     *Server
	ln      net.Listener
	log     *syncBuffer
	keyFile string
	user    ssh.Signer // authorized
	served  chan error
}

func newSigner(t *testing.T) ssh.Signer {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// startServer runs a server until the test ends; change adjusts its Config first.
func startServer(t *testing.T, keyDir string, change func(*Config)) *testServer {
	t.Helper()
	if keyDir == "" {
		keyDir = t.TempDir()
	}
	hostKeys, err := loadHostKeys(keyDir)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{log: &syncBuffer{}, user: newSigner(t), served: make(chan error, 1)}
	ts.keyFile = filepath.Join(t.TempDir(), "authorized_keys")
	if err := os.WriteFile(ts.keyFile, ssh.MarshalAuthorizedKey(ts.user.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	cfg := Config{
		HostKeys: hostKeys,
		KeyFiles: []string{filepath.Join(t.TempDir(), "missing"), ts.keyFile},
		Shell:    "/bin/sh", // the host's: busybox's in the image
		Env:      []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home},
		Home:     home,
		Log:      log.New(ts.log, "", 0),
	}
	if change != nil {
		change(&cfg)
	}
	ts.srv, err = NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.addr = ts.ln.Addr().String()
	go func() { ts.served <- ts.srv.Serve(ts.ln) }()
	t.Cleanup(func() {
		ts.srv.closeAndShutdown(ts.ln)
		if t.Failed() {
			t.Logf("server log:\n%s", ts.log.String())
		}
	})
	return ts
}

func (ts *testServer) dial(t *testing.T, user string, auth ...ssh.AuthMethod) (*ssh.Client, error) {
	t.Helper()
	return ssh.Dial("tcp", ts.addr, &ssh.ClientConfig{
		User: user, Auth: auth, HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
	})
}

func (ts *testServer) login(t *testing.T) *ssh.Client {
	t.Helper()
	c, err := ts.dial(t, "root", ssh.PublicKeys(ts.user))
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (ts *testServer) waitLog(t *testing.T, text string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(ts.log.String(), text) {
			return
		}
	}
	t.Errorf("server log lacks %q", text)
}

// waitLogCount waits until the server's log holds text n times.
func (ts *testServer) waitLogCount(t *testing.T, text string, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Count(ts.log.String(), text) >= n {
			return
		}
	}
	t.Errorf("server log holds %q fewer than %d times", text, n)
}

func TestExecReturnsOutputAndExitStatus(t *testing.T) {
	ts := startServer(t, "", nil)
	s, err := ts.login(t).NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.CombinedOutput("echo hi; exit 3")
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 3 {
		t.Fatalf("err = %v, want exit status 3", err)
	}
	if string(out) != "hi\n" {
		t.Errorf("output %q, want %q", out, "hi\n")
	}
	ts.waitLog(t, "sshd: accepted publickey for root from 127.0.0.1:")
	ts.waitLog(t, "ED25519 "+ssh.FingerprintSHA256(ts.user.PublicKey()))
}

func TestExecPassesStdinStderrAndTheAcceptedEnvironment(t *testing.T) {
	ts := startServer(t, "", nil)
	s, err := ts.login(t).NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Setenv("LANG", "C.UTF-8"); err != nil {
		t.Errorf("LANG refused: %v", err)
	}
	if err := s.Setenv("LD_PRELOAD", "/x.so"); err == nil {
		t.Errorf("LD_PRELOAD accepted")
	}
	var stdout, stderr bytes.Buffer
	s.Stdin, s.Stdout, s.Stderr = strings.NewReader("from stdin\n"), &stdout, &stderr
	if err := s.Run(`read l; echo "$l $LANG $HOME $USER"; echo oops >&2; pwd`); err != nil {
		t.Fatal(err)
	}
	home := ts.srv.cfg.Home
	if want := "from stdin C.UTF-8 " + home + " \n" + home + "\n"; stdout.String() != want {
		t.Errorf("stdout %q, want %q", stdout.String(), want)
	}
	if stderr.String() != "oops\n" {
		t.Errorf("stderr %q", stderr.String())
	}
}

func TestExecKilledBySignalReportsExitSignal(t *testing.T) {
	ts := startServer(t, "", nil)
	s, err := ts.login(t).NewSession()
	if err != nil {
		t.Fatal(err)
	}
	err = s.Run("kill -TERM $$")
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.Signal() != "TERM" {
		t.Fatalf("err = %v, want exit-signal TERM", err)
	}
}

func TestPTYSessionHasTheTermAndFollowsWindowChanges(t *testing.T) {
	ts := startServer(t, "", nil)
	s, err := ts.login(t).NewSession()
	if err != nil {
		t.Fatal(err)
	}
	// VINTR ^B instead of ^C, no echo: the modes reach the pty.
	if err := s.RequestPty("xterm-256color", 24, 80, ssh.TerminalModes{ssh.ECHO: 0, ssh.VINTR: 2}); err != nil {
		t.Fatal(err)
	}
	stdin, err := s.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	s.Stdout, s.Stderr = pw, pw
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- strings.TrimRight(sc.Text(), "\r")
		}
		close(lines)
	}()
	expect := func(want string) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("output ended before %q", want)
				}
				if strings.Contains(l, want) && !strings.Contains(l, "echo") {
					return
				}
			case <-timeout:
				t.Fatalf("no %q in the output", want)
			}
		}
	}
	fmt.Fprintln(stdin, `echo "T=$TERM"; [ -t 0 ] && echo "ON-A-TTY $SSH_TTY"; echo "SIZE=$(stty size)"; stty -a | grep -o 'intr = ^.'; case "$(stty -a)" in *" -echo "*) echo NO-ECHO;; esac`)
	expect("T=xterm-256color")
	expect("ON-A-TTY /dev/pts/")
	expect("SIZE=24 80")
	expect("intr = ^B")
	expect("NO-ECHO")
	if err := s.WindowChange(50, 132); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(stdin, `echo "SIZE=$(stty size)"`)
	expect("SIZE=50 132")
	fmt.Fprintln(stdin, "exit 7")
	err = s.Wait()
	pw.Close()
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 7 {
		t.Fatalf("shell ended with %v, want exit status 7", err)
	}
}

func TestSFTPRoundTripKeepsTenMegabytes(t *testing.T) {
	ts := startServer(t, "", nil)
	c, err := sftp.NewClient(ts.login(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	data := make([]byte, 10<<20)
	rand.Read(data)
	want := sha256.Sum256(data)
	f, err := c.Create("big.bin") // relative: in the sessions' home
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadFrom(bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	onDisk, err := os.ReadFile(filepath.Join(ts.srv.cfg.Home, "big.bin"))
	if err != nil || sha256.Sum256(onDisk) != want {
		t.Fatalf("server's copy: %v, sha256 differs: %v", err, sha256.Sum256(onDisk) != want)
	}
	r, err := c.Open("big.bin")
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := r.WriteTo(h); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
		t.Fatalf("sha256 of the download %x, want %x", got, want)
	}
}

func TestWrongKeyPasswordAndOtherUsersAreRefused(t *testing.T) {
	ts := startServer(t, "", nil)
	stranger := newSigner(t)
	if c, err := ts.dial(t, "root", ssh.PublicKeys(stranger)); err == nil {
		c.Close()
		t.Errorf("an unknown key logged in")
	}
	if c, err := ts.dial(t, "root", ssh.Password("root"), ssh.KeyboardInteractive(
		func(string, string, []string, []bool) ([]string, error) { return []string{"root"}, nil })); err == nil {
		c.Close()
		t.Errorf("a password logged in")
	}
	if c, err := ts.dial(t, "admin", ssh.PublicKeys(ts.user)); err == nil {
		c.Close()
		t.Errorf("user admin logged in")
	}
	ts.waitLog(t, "sshd: failed publickey for root from 127.0.0.1:")
	ts.waitLog(t, "ED25519 "+ssh.FingerprintSHA256(stranger.PublicKey())+": key not authorized")
	ts.waitLog(t, "sshd: failed login for root from 127.0.0.1:") // password: not offered, so none tried
	ts.waitLog(t, "methods tried: none (sshd offers publickey only)")
	ts.waitLog(t, "sshd: failed publickey for admin from 127.0.0.1:")
	ts.waitLog(t, "sshd: failed login for admin from 127.0.0.1:")
	if strings.Contains(ts.log.String(), "accepted publickey") {
		t.Errorf("a refused client was logged as accepted:\n%s", ts.log.String())
	}
}

func TestKeysAddedToAFileWorkWithoutARestart(t *testing.T) {
	ts := startServer(t, "", nil)
	later := newSigner(t)
	if c, err := ts.dial(t, "root", ssh.PublicKeys(later)); err == nil {
		c.Close()
		t.Fatal("key logged in before it was added")
	}
	f, err := os.OpenFile(ts.keyFile, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(append([]byte("# added later\n"), ssh.MarshalAuthorizedKey(later.PublicKey())...))
	f.Close()
	c, err := ts.dial(t, "root", ssh.PublicKeys(later))
	if err != nil {
		t.Fatalf("added key refused: %v", err)
	}
	c.Close()
}

func TestAuthorizedSkipsCommentsMissingFilesAndKeysWithOptions(t *testing.T) {
	dir := t.TempDir()
	plain, restricted := newSigner(t), newSigner(t)
	file := filepath.Join(dir, "keys")
	content := "# comment\n\nnot a key\n" +
		`command="/bin/true" ` + string(ssh.MarshalAuthorizedKey(restricted.PublicKey())) +
		string(ssh.MarshalAuthorizedKey(plain.PublicKey()))
	os.WriteFile(file, []byte(content), 0o600)
	files := []string{filepath.Join(dir, "none"), file}
	ok, err := authorized(files, plain.PublicKey())
	if !ok {
		t.Errorf("plain key not authorized (%v)", err)
	}
	if err == nil || !strings.Contains(err.Error(), file+":3") || !strings.Contains(err.Error(), file+":4: options") {
		t.Errorf("err = %v, want the bad line 3 and the options of line 4 named", err)
	}
	if ok, _ := authorized(files, restricted.PublicKey()); ok {
		t.Errorf("a key with command= was authorized without its restriction")
	}
}

// TestFiftyPendingConnectionsDoNotStopALogin holds 50 connections that never log in (from
// 50 loopback addresses, so that the per-source limit does not drop them first) and then
// logs in: the connections beyond max-unauth are dropped early, and once the held ones are
// older than evict-after, a new one replaces the oldest.
func TestFiftyPendingConnectionsDoNotStopALogin(t *testing.T) {
	ts := startServer(t, "", func(c *Config) {
		c.MaxUnauth, c.EvictAfter = 30, 1500*time.Millisecond
		c.RateBurst, c.RateInterval = 10, 3*time.Second
	})
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ts.addr)
	for i := range 50 {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(10+i))}}
		c, err := d.Dial("tcp", "127.0.0.1:"+port)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		held = append(held, c)
	}
	ts.waitLog(t, "30 connections are logging in")
	if n := ts.srv.pending.count(); n != 30 {
		t.Errorf("%d connections pending, want 30", n)
	}
	// One line for the first drop, one counting the other 19 a second later.
	ts.waitLog(t, "sshd: dropped 19 more connections in the last second")
	if n := strings.Count(ts.log.String(), "sshd: dropped connection"); n != 1 {
		t.Errorf("%d lines for 20 dropped connections, want 1 and a count", n)
	}
	time.Sleep(600 * time.Millisecond) // the held connections are 1.6s old or more now
	s, err := ts.login(t).NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := s.Output("echo in"); err != nil || string(out) != "in\n" {
		t.Fatalf("login beside 50 pending connections: %q, %v", out, err)
	}
	ts.waitLog(t, "making room for 127.0.0.1:")
}

func TestASourceThatKeepsFailingIsDroppedEarly(t *testing.T) {
	ts := startServer(t, "", func(c *Config) { c.RateBurst, c.RateInterval = 3, time.Hour })
	// A successful login gives its token back.
	for range 5 {
		ts.login(t).Close()
	}
	// The server gives the token back just before it logs the login, which may be after
	// the client has seen it succeed.
	ts.waitLogCount(t, "sshd: accepted publickey", 5)
	for range 3 {
		if c, err := ts.dial(t, "root", ssh.Password("x")); err == nil {
			c.Close()
		}
	}
	if c, err := ts.dial(t, "root", ssh.PublicKeys(ts.user)); err == nil {
		c.Close()
		t.Fatal("a fourth connection after three failures got in")
	}
	ts.waitLog(t, "sshd: dropped connection from 127.0.0.1:")
}

func TestSilentConnectionsAreClosedAtTheLoginTimeout(t *testing.T) {
	ts := startServer(t, "", func(c *Config) { c.LoginTimeout = 200 * time.Millisecond })
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("connection not closed by the server: %v", err)
	}
	ts.waitLog(t, "not logged in within 200ms")
	if n := ts.srv.pending.count(); n != 0 {
		t.Errorf("%d connections still pending", n)
	}
}

func TestHostKeysPersistAcrossRestarts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sshd")
	first := startServer(t, dir, nil)
	var seen []ssh.PublicKey
	c, err := ssh.Dial("tcp", first.addr, &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(first.user)},
		HostKeyCallback: func(_ string, _ net.Addr, k ssh.PublicKey) error { seen = append(seen, k); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	first.srv.closeAndShutdown(first.ln)

	for _, name := range []string{"ssh_host_ed25519_key", "ssh_host_ecdsa_key"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v; want 0600", name, err, fi.Mode().Perm())
		}
	}
	second := startServer(t, dir, nil)
	c, err = ssh.Dial("tcp", second.addr, &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(second.user)},
		HostKeyCallback: ssh.FixedHostKey(seen[0])})
	if err != nil {
		t.Fatalf("after a restart the host key changed: %v", err)
	}
	c.Close()
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		t.Errorf("key dir holds %d files, want 2 keys and their .pub (no temporary files)", len(entries))
	}
}

// startPID runs command in a new session and returns the pid it printed first.
func startPID(t *testing.T, c *ssh.Client, command string) (*ssh.Session, int) {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(command); err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Fscan(out, &pid); err != nil {
		t.Fatalf("%q printed no pid: %v", command, err)
	}
	go io.Copy(io.Discard, out)
	return s, pid
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestShutdownHangsUpSessionsKillsWhatIgnoresItAndStopsServing(t *testing.T) {
	ts := startServer(t, "", nil)
	c := ts.login(t)
	plain, plainPID := startPID(t, c, "echo $$; sleep 60")
	_, stubbornPID := startPID(t, c, `trap "" HUP; echo $$; sleep 60`)
	start := time.Now()
	ts.srv.closeAndShutdown(ts.ln)
	if err := <-ts.served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if d := time.Since(start); d > hangupGrace+time.Second {
		t.Errorf("shutdown took %s", d)
	}
	done := make(chan error, 1)
	go func() { done <- plain.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("session still open after shutdown")
	}
	time.Sleep(100 * time.Millisecond) // reaped by sshd's Wait: gone from the process table
	if alive(plainPID) {
		t.Errorf("a session's shell survived the hangup")
	}
	if alive(stubbornPID) {
		t.Errorf("a session's shell that ignores SIGHUP survived the shutdown")
	}
	ts.waitLog(t, "sessions still running 2s after SIGHUP: killing them")
	if c, err := net.DialTimeout("tcp", ts.addr, time.Second); err == nil {
		c.Close()
		t.Error("still accepting after shutdown")
	}
}

// TestCommandReadsKeysBelowTheHostRootAndEndsAtSIGTERM runs the command's run with its
// default key files below -host-root (as /proc/1/root on a machine) and sends the test
// process SIGTERM: run returns nil, and a session's shell, which must not inherit an ignored
// SIGHUP, ended at the hangup rather than at the kill that follows.
func TestCommandReadsKeysBelowTheHostRootAndEndsAtSIGTERM(t *testing.T) {
	dir := t.TempDir()
	user := newSigner(t)
	hostRoot := filepath.Join(dir, "machine")
	keys := filepath.Join(hostRoot, "root/.ssh/authorized_keys")
	os.MkdirAll(filepath.Dir(keys), 0o700)
	os.WriteFile(keys, ssh.MarshalAuthorizedKey(user.PublicKey()), 0o600)
	logs := &syncBuffer{}
	ran := make(chan error, 1)
	go func() {
		ran <- run([]string{"-listen", "127.0.0.1:0", "-host-key-dir", filepath.Join(dir, "hostkeys"),
			"-host-root", hostRoot, "-home", dir, "-applets", ""}, log.New(logs, "", 0))
	}()
	var addr string
	for deadline := time.Now().Add(5 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, rest, ok := strings.Cut(logs.String(), "listening on "); ok {
			addr, _, _ = strings.Cut(rest, " ")
		}
	}
	if addr == "" {
		t.Fatalf("sshd did not listen:\n%s", logs.String())
	}
	c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(user)}, HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, pid := startPID(t, c, "echo $$; sleep 60")
	start := time.Now()
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	select {
	case err := <-ran:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run still serving 10s after SIGTERM")
	}
	if d := time.Since(start); d >= hangupGrace {
		t.Errorf("run took %s to end: the session outlived SIGHUP\n%s", d, logs.String())
	}
	if alive(pid) {
		t.Errorf("the session's shell outlived sshd")
	}
}

func TestPortForwardingIsOffUnlessAllowed(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	off := startServer(t, "", nil)
	if c, err := off.login(t).Dial("tcp", echo.Addr().String()); err == nil {
		c.Close()
		t.Error("direct-tcpip allowed by default")
	}
	if ln, err := off.login(t).Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
		t.Error("tcpip-forward allowed by default")
	}
	on := startServer(t, "", func(c *Config) { c.AllowForwarding = true })
	c, err := on.login(t).Dial("tcp", echo.Addr().String())
	if err != nil {
		t.Fatalf("direct-tcpip with forwarding allowed: %v", err)
	}
	defer c.Close()
	fmt.Fprint(c, "ping\n")
	if l, err := bufio.NewReader(c).ReadString('\n'); err != nil || l != "ping\n" {
		t.Errorf("through the tunnel: %q, %v", l, err)
	}
	ln, err := on.login(t).Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("tcpip-forward with forwarding allowed: %v", err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			fmt.Fprint(c, "back\n")
			c.Close()
		}
	}()
	rc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if l, err := bufio.NewReader(rc).ReadString('\n'); err != nil || l != "back\n" {
		t.Errorf("through the remote forward: %q, %v", l, err)
	}
}

func TestLegacySCPIsToldToUseSFTP(t *testing.T) {
	ts := startServer(t, "", func(c *Config) { c.Env = []string{"PATH=" + t.TempDir()} })
	s, err := ts.login(t).NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.CombinedOutput("scp -t /tmp")
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 127 || !strings.Contains(string(out), "SFTP") {
		t.Errorf("scp -t: %v %q; want status 127 and a word on SFTP", err, out)
	}
}
