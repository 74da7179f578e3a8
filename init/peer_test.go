package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func hostPeer() controlPeer {
	return controlPeer{pid: 1, ns: map[string]string{"pid": "pid:[1]", "mnt": "mnt:[2]", "user": "user:[3]"}, capEff: 1<<41 - 1}
}

func TestPrivilegedNeedsHostPidAndMountNamespacesOrCapSysBootInTheHostUserNamespace(t *testing.T) {
	host := hostPeer()
	ns := func(pid, mnt, user string) map[string]string {
		return map[string]string{"pid": pid, "mnt": mnt, "user": user}
	}
	const sysBoot = 1 << unix.CAP_SYS_BOOT
	for _, tc := range []struct {
		name string
		peer controlPeer
		ok   bool
	}{
		{"host shell without capabilities", controlPeer{pid: 7, ns: ns("pid:[1]", "mnt:[2]", "user:[3]")}, true},
		{"container sharing the host pid namespace only", controlPeer{pid: 7, ns: ns("pid:[1]", "mnt:[9]", "user:[3]"), capEff: 0xa80425fb}, false},
		{"container sharing the host mount namespace only", controlPeer{pid: 7, ns: ns("pid:[9]", "mnt:[2]", "user:[3]")}, false},
		{"container with its own namespaces and default capabilities", controlPeer{pid: 7, ns: ns("pid:[8]", "mnt:[9]", "user:[3]"), capEff: 0xa80425fb}, false},
		{"container with CAP_SYS_BOOT", controlPeer{pid: 7, ns: ns("pid:[8]", "mnt:[9]", "user:[3]"), capEff: sysBoot}, true},
		{"CAP_SYS_BOOT in a user namespace of its own", controlPeer{pid: 7, ns: ns("pid:[8]", "mnt:[9]", "user:[4]"), capEff: 1<<41 - 1}, false},
		{"peer that could not be read", controlPeer{pid: 7, ns: ns("pid:[1]", "mnt:[2]", "user:[3]"), capEff: sysBoot, err: errors.New("gone")}, false},
		{"peer without namespaces", controlPeer{pid: 7, ns: map[string]string{}}, false},
	} {
		err := privileged(tc.peer, host)
		if (err == nil) != tc.ok {
			t.Errorf("%s: privileged = %v, want allowed=%v", tc.name, err, tc.ok)
		}
	}
	if err := privileged(hostPeer(), controlPeer{err: errors.New("no /proc")}); err == nil {
		t.Error("an unknown host must refuse everyone")
	}
	err := privileged(controlPeer{pid: 42, ns: ns("pid:[8]", "mnt:[9]", "user:[3]")}, host)
	if err == nil || !strings.Contains(err.Error(), "pid 42") || !strings.Contains(err.Error(), "CAP_SYS_BOOT") {
		t.Errorf("refusal %v must name the pid and CAP_SYS_BOOT", err)
	}
}

func TestReadPeerReadsNamespacesAndCapEffFromProc(t *testing.T) {
	proc := t.TempDir()
	dir := filepath.Join(proc, "42")
	if err := os.MkdirAll(filepath.Join(dir, "ns"), 0o755); err != nil {
		t.Fatal(err)
	}
	for typ, target := range map[string]string{"pid": "pid:[11]", "mnt": "mnt:[12]", "user": "user:[13]"} {
		if err := os.Symlink(target, filepath.Join(dir, "ns", typ)); err != nil {
			t.Fatal(err)
		}
	}
	status := "Name:\tsh\nCapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\nCapEff:\t0000000000400000\n"
	if err := os.WriteFile(filepath.Join(dir, "status"), []byte(status), 0o644); err != nil {
		t.Fatal(err)
	}
	p := readPeer(proc, 42)
	if p.err != nil || p.pid != 42 || p.capEff != 1<<unix.CAP_SYS_BOOT || p.ns["mnt"] != "mnt:[12]" || p.ns["user"] != "user:[13]" {
		t.Fatalf("readPeer = %+v", p)
	}
	if p := readPeer(proc, 43); p.err == nil {
		t.Fatal("a pid without /proc entries must be an error")
	}
}

// A real unix socket pair: the peer is this test process, which shares its own namespaces.
func TestIdentifyPeerReadsTheConnectingProcessThroughSOPeercred(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f0, f1 := os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
	defer f1.Close()
	c, err := net.FileConn(f0)
	f0.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := peerOf(withPeer("/proc")(context.Background(), c))
	if p.err != nil || p.pid != os.Getpid() {
		t.Fatalf("peer = %+v, want pid %d", p, os.Getpid())
	}
	if err := privileged(p, readPeer("/proc", os.Getpid())); err != nil {
		t.Fatalf("a process in PID 1's own namespaces must be privileged: %v", err)
	}
}

func TestControlRefusesPowerAndServiceActionsWithoutPeerCredentialsButServesReads(t *testing.T) {
	in := newInit()
	h := in.controlHandler()
	for _, path := range []string{"/v1/poweroff", "/v1/reboot", "/v1/halt?timeline=1", "/v1/services/web/stop", "/v1/services/web/restart", "/v1/services/web/start"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", path, nil))
		if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "refused") {
			t.Errorf("POST %s: %d %s, want 403 refused", path, rec.Code, rec.Body)
		}
	}
	if in.timelineAtEnd.Load() {
		t.Error("a refused poweroff must not change what happens at shutdown")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/timeline", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("GET /v1/timeline: %d, want 200 for any peer", rec.Code)
	}
}

// serveControlAt serves in's control API on a unix socket in a temp dir, identifying peers
// under proc, and returns an HTTP client for it.
func serveControlAt(t *testing.T, in *initProc, proc string) *http.Client {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "control.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: in.controlHandler(), ConnContext: withPeer(proc)}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
}

func TestControlSocketJudgesEachConnectionsPeer(t *testing.T) {
	in := newInit()
	for _, tc := range []struct {
		name, proc string
		want       int
	}{
		// The test process shares its own namespaces: it passes, and the service is unknown.
		{"peer in PID 1's namespaces", "/proc", http.StatusNotFound},
		// Its /proc entries cannot be read: refused before the service is looked up.
		{"peer that cannot be identified", t.TempDir(), http.StatusForbidden},
	} {
		c := serveControlAt(t, in, tc.proc)
		resp, err := c.Post("http://keel/v1/services/nope/stop", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: POST stop answered %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
}
