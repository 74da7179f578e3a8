// Command sshd is Keel's SSH server: root logs in with a public key only (as on LinuxKit's
// sshd; other user names, passwords and keyboard-interactive are refused), to run commands,
// an interactive shell on a pty, or SFTP (which modern scp uses too). The keys are read from
// the authorized_keys files at each login, so keys added while it runs work at once. Host
// keys are generated on first start and kept in a directory, persistent when it is on a
// disk. Connections that have not logged in are limited in time, number and rate per
// source address; logged-in sessions are not. SIGTERM hangs up every session and exits 0.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// defaultKeyFiles are where a Keel machine's keys come from: the metadata package's and the
// image's own (a `files:` entry of the YAML).
var defaultKeyFiles = []string{"/run/config/ssh/authorized_keys", "/root/.ssh/authorized_keys"}

// sessionPath is the sessions' PATH; /tmp/bin holds busybox's applets (-applets).
const sessionPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/tmp/bin"

type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

func main() {
	logger := log.New(os.Stderr, "", 0)
	if err := run(os.Args[1:], logger); err != nil {
		logger.Printf("sshd: %v", err)
		os.Exit(1)
	}
}

func run(args []string, logger *log.Logger) error {
	fs := flag.NewFlagSet("sshd", flag.ContinueOnError)
	listen := fs.String("listen", ":22", "address to listen on")
	keyDir := fs.String("host-key-dir", "/var/lib/sshd", "directory of the host keys, generated there when missing")
	var keyFiles listFlag
	fs.Var(&keyFiles, "authorized-keys", "an authorized_keys file, read at each login (repeatable; default "+strings.Join(defaultKeyFiles, " and ")+")")
	hostRoot := fs.String("host-root", "/proc/1/root", "the authorized_keys files are read below this directory: PID 1's root sees the machine's files, which need no bind into sshd's container")
	shell := fs.String("shell", "/bin/sh", "the sessions' shell")
	home := fs.String("home", "/root", "HOME and working directory of the sessions")
	applets := fs.String("applets", "/tmp/bin", "install busybox's applets as links in this directory at start (empty: do not)")
	busybox := fs.String("busybox", "/bin/busybox", "the busybox binary for -applets")
	loginTimeout := fs.Duration("login-timeout", 20*time.Second, "time from connect to logged in")
	maxUnauth := fs.Int("max-unauth", 30, "connections not logged in at once; beyond, a new one replaces one older than -evict-after, else is dropped")
	evictAfter := fs.Duration("evict-after", 2*time.Second, "age of a connection not logged in that a new one may replace when -max-unauth are")
	maxTries := fs.Int("max-auth-tries", 6, "failed authentication attempts per connection")
	rateBurst := fs.Int("rate-burst", 10, "connections a source address may open without logging in, before -rate-interval limits it (0: no limit)")
	rateInterval := fs.Duration("rate-interval", 3*time.Second, "a source address gains one more connection each interval")
	allowFwd := fs.Bool("allow-forwarding", false, "allow TCP port forwarding (ssh -L and -R)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if len(keyFiles) == 0 {
		keyFiles = defaultKeyFiles
	}
	root := *hostRoot
	if root != "" {
		if _, err := os.Stat(root + "/"); err != nil {
			logger.Printf("sshd: host root %s: %v; reading the authorized keys files from sshd's own root", root, err)
			root = ""
		}
	}
	if *applets != "" {
		installApplets(logger, *busybox, *applets)
	}
	hostKeys, err := loadHostKeys(*keyDir)
	if err != nil {
		return err
	}
	for _, k := range hostKeys {
		logger.Printf("sshd: host key %s", keyDesc(k.PublicKey()))
	}
	srv, err := NewServer(Config{
		HostKeys:        hostKeys,
		KeyFiles:        keyFilesUnder(root, keyFiles),
		Shell:           *shell,
		Env:             []string{"PATH=" + sessionPath, "HOME=" + *home, "USER=root", "LOGNAME=root", "SHELL=" + *shell},
		Home:            *home,
		LoginTimeout:    *loginTimeout,
		MaxUnauth:       *maxUnauth,
		EvictAfter:      *evictAfter,
		MaxAuthTries:    *maxTries,
		RateBurst:       *rateBurst,
		RateInterval:    *rateInterval,
		AllowForwarding: *allowFwd,
		Log:             logger,
	})
	if err != nil {
		return err
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	// SIGHUP is caught, not ignored: an ignored signal stays ignored in the sessions.
	hups := make(chan os.Signal, 1)
	signal.Notify(hups, syscall.SIGHUP)
	defer signal.Stop(sigs)
	defer signal.Stop(hups)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	logger.Printf("sshd: listening on %s (keys from %s; port forwarding %s)", ln.Addr(), strings.Join(keyFiles, ", "), map[bool]string{true: "allowed", false: "off"}[*allowFwd])

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	for {
		select {
		case <-hups:
			logger.Printf("sshd: SIGHUP ignored: the keys are read at each login anyway")
		case sig := <-sigs:
			logger.Printf("sshd: %v: closing sessions", sig)
			srv.closeAndShutdown(ln)
			return nil
		case err := <-served:
			srv.Shutdown()
			return err
		}
	}
}

// closeAndShutdown stops accepting, then ends every connection.
func (s *Server) closeAndShutdown(ln net.Listener) {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	ln.Close()
	s.Shutdown()
}

// installApplets makes busybox's applets reachable on the sessions' PATH: the image has only
// the busybox binary.
func installApplets(logger *log.Logger, busybox, dir string) {
	if _, err := os.Stat(busybox); err != nil {
		logger.Printf("sshd: no busybox applets: %v", err)
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		logger.Printf("sshd: busybox applets: %v", err)
		return
	}
	if out, err := exec.Command(busybox, "--install", "-s", dir).CombinedOutput(); err != nil {
		logger.Printf("sshd: busybox --install -s %s: %v %s", dir, err, out)
	}
}
