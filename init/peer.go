package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// controlPeer is what PID 1 knows of a control socket client, read as it connects: its pid
// (which the kernel gives in PID 1's pid namespace), its namespaces and its effective
// capabilities.
type controlPeer struct {
	pid    int
	ns     map[string]string // "pid", "mnt", "user" → /proc/PID/ns link, e.g. "pid:[4026531836]"
	capEff uint64
	err    error // why the peer is unknown; an unknown peer is never privileged
}

// peerNamespaces are the namespaces privileged compares.
var peerNamespaces = []string{"pid", "mnt", "user"}

// privileged returns nil when peer may change the machine (power actions; starting, stopping
// or restarting services): when it shares host's (PID 1's) pid and mount namespaces, as a
// shell on the host does, or holds CAP_SYS_BOOT in its effective set in host's user
// namespace (a capability in a user namespace of its own does not count). Otherwise it
// returns why not.
func privileged(peer, host controlPeer) error {
	if peer.err != nil {
		return fmt.Errorf("the caller could not be identified: %w", peer.err)
	}
	if host.err != nil {
		return fmt.Errorf("PID 1's namespaces are unknown: %w", host.err)
	}
	same := func(typ string) bool { return peer.ns[typ] != "" && peer.ns[typ] == host.ns[typ] }
	if same("pid") && same("mnt") {
		return nil
	}
	if peer.capEff&(1<<unix.CAP_SYS_BOOT) != 0 && same("user") {
		return nil
	}
	return fmt.Errorf("the caller (pid %d) is not in PID 1's pid and mount namespaces and has no CAP_SYS_BOOT", peer.pid)
}

// readPeer reads the namespaces and effective capabilities of pid under proc (/proc).
func readPeer(proc string, pid int) controlPeer {
	p := controlPeer{pid: pid, ns: map[string]string{}}
	dir := proc + "/" + strconv.Itoa(pid)
	for _, typ := range peerNamespaces {
		link, err := os.Readlink(dir + "/ns/" + typ)
		if err != nil {
			p.err = fmt.Errorf("read %s namespace: %w", typ, err)
			return p
		}
		p.ns[typ] = link
	}
	capEff, err := readCapEff(dir + "/status")
	if err != nil {
		p.err = err
		return p
	}
	p.capEff = capEff
	return p
}

// readCapEff reads the CapEff line of a /proc/PID/status file.
func readCapEff(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return 0, fmt.Errorf("%s: CapEff %q: %w", path, strings.TrimSpace(v), err)
			}
			return n, nil
		}
	}
	if err := s.Err(); err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	return 0, fmt.Errorf("%s: no CapEff line", path)
}

// identifyPeer reads who is at the other end of a unix socket connection: SO_PEERCRED's pid,
// then its namespaces and capabilities under proc. With SO_PEERPIDFD (Linux 6.5), the pid is
// checked to name the same process after /proc was read, so a peer that exits and leaves its
// pid to another process is refused rather than judged as that process.
func identifyPeer(c syscall.Conn, proc string) controlPeer {
	rc, err := c.SyscallConn()
	if err != nil {
		return controlPeer{err: err}
	}
	var (
		cred  *unix.Ucred
		pidfd = -1
		serr  error
	)
	if err := rc.Control(func(fd uintptr) {
		cred, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
		if serr == nil {
			if n, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PEERPIDFD); err == nil {
				pidfd = n
			}
		}
	}); err != nil {
		return controlPeer{err: err}
	}
	if serr != nil {
		return controlPeer{err: fmt.Errorf("SO_PEERCRED: %w", serr)}
	}
	if pidfd >= 0 {
		defer unix.Close(pidfd)
	}
	if cred.Pid <= 0 {
		// 0: the peer is in a pid namespace PID 1 cannot see into (not one of its own).
		return controlPeer{err: errors.New("its pid is not visible from PID 1's pid namespace")}
	}
	p := readPeer(proc, int(cred.Pid))
	if p.err == nil && pidfd >= 0 {
		if err := unix.PidfdSendSignal(pidfd, 0, nil, 0); err != nil {
			p.err = fmt.Errorf("pid %d exited while it was identified: %w", cred.Pid, err)
		}
	}
	return p
}

// peerKey is the context key of a control connection's controlPeer.
type peerKey struct{}

// withPeer is the control server's ConnContext: it identifies the peer of each connection.
func withPeer(proc string) func(ctx context.Context, c net.Conn) context.Context {
	return func(ctx context.Context, c net.Conn) context.Context {
		p := controlPeer{err: fmt.Errorf("%T is not a unix socket", c)}
		if sc, ok := c.(syscall.Conn); ok {
			p = identifyPeer(sc, proc)
		}
		return context.WithValue(ctx, peerKey{}, p)
	}
}

// peerOf returns the peer withPeer stored in ctx.
func peerOf(ctx context.Context) controlPeer {
	if p, ok := ctx.Value(peerKey{}).(controlPeer); ok {
		return p
	}
	return controlPeer{err: errors.New("no peer credentials on the connection")}
}
