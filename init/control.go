package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"time"
)

// controlSocket is where PID 1 serves keel-ctl: HTTP/1.1 over a unix socket, JSON bodies.
//
//	GET  /v1/services                  every service's state
//	GET  /v1/services/NAME             one service's state
//	POST /v1/services/NAME/start       start a stopped service
//	POST /v1/services/NAME/stop        stop it (SIGTERM, SIGKILL after the grace period); it stays down
//	POST /v1/services/NAME/restart     stop, then start
//	GET  /v1/logs/NAME?n=N&follow=1    its newest log lines, then new ones while follow is set
//	GET  /v1/timeline                  the boot timeline
//	GET  /v1/memory                    PID 1's, containerd's and the shims' memory now
//	GET  /v1/containerd                containerd's state, pid and restarts
//	GET  /v1/watchdog                  the hardware watchdog's state (404 when none is armed)
//	POST /v1/watchdog/test             stop petting it, to show it resets the machine
//	POST /v1/poweroff, /v1/reboot, /v1/halt  ?timeline=1: print the final timeline on the console
//
// Errors are {"error": "..."} with a 4xx or 5xx status. The socket is controlSocket, 0600 in
// a 0700 directory on /system. Any peer that reaches it may read (services, logs, timeline,
// memory, containerd); the POST requests, which change the machine, are refused (403) unless
// the peer is privileged (peer.go): in PID 1's pid and mount namespaces, or holding
// CAP_SYS_BOOT.

// serveControl listens on the control socket until the machine goes down.
func (in *initProc) serveControl() error {
	_ = os.Remove(controlSocket)
	l, err := net.Listen("unix", controlSocket)
	if err != nil {
		return fmt.Errorf("listen %s: %w", controlSocket, err)
	}
	if err := os.Chmod(controlSocket, 0o600); err != nil {
		return fmt.Errorf("chmod %s: %w", controlSocket, err)
	}
	srv := &http.Server{Handler: in.controlHandler(), ReadHeaderTimeout: 10 * time.Second, ConnContext: withPeer("/proc")}
	goSafe("control", func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logf("control socket: %v", err)
		}
	})
	return nil
}

func (in *initProc) controlHandler() http.Handler {
	mux := http.NewServeMux()
	host := sync.OnceValue(func() controlPeer { return readPeer("/proc", os.Getpid()) })
	// allowed answers 403 and returns false unless the request's peer is privileged.
	allowed := func(w http.ResponseWriter, r *http.Request, what string) bool {
		if err := privileged(peerOf(r.Context()), host()); err != nil {
			logf("keel-ctl: %s refused: %v", what, err)
			writeError(w, http.StatusForbidden, fmt.Errorf("%s refused: %w; run it on the host (a shell in PID 1's namespaces) or give the container CAP_SYS_BOOT", what, err))
			return false
		}
		return true
	}
	mux.HandleFunc("GET /v1/services", func(w http.ResponseWriter, r *http.Request) {
		var out []serviceState
		for _, s := range in.services.all() {
			out = append(out, s.state())
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /v1/services/{name}", func(w http.ResponseWriter, r *http.Request) {
		s, err := in.services.find(r.PathValue("name"))
		if err != nil {
			writeError(w, http.StatusNotFound, err)
			return
		}
		writeJSON(w, http.StatusOK, s.state())
	})
	mux.HandleFunc("POST /v1/services/{name}/{action}", func(w http.ResponseWriter, r *http.Request) {
		if !allowed(w, r, r.PathValue("action")+" "+r.PathValue("name")) {
			return
		}
		s, err := in.services.find(r.PathValue("name"))
		if err != nil {
			writeError(w, http.StatusNotFound, err)
			return
		}
		in.mu.Lock()
		grace := in.grace
		in.mu.Unlock()
		ctx, cancel := context.WithTimeout(r.Context(), grace+60*time.Second)
		defer cancel()
		switch r.PathValue("action") {
		case "start":
			err = s.start(ctx)
		case "stop":
			s.halt(grace)
		case "restart":
			s.halt(grace)
			err = s.start(ctx)
		default:
			writeError(w, http.StatusNotFound, fmt.Errorf("unknown action %q", r.PathValue("action")))
			return
		}
		if err != nil {
			writeError(w, http.StatusConflict, err)
			return
		}
		logCtlService(s.name, r.PathValue("action"))
		writeJSON(w, http.StatusOK, s.state())
	})
	mux.HandleFunc("GET /v1/logs/{name}", func(w http.ResponseWriter, r *http.Request) {
		in.serveLogs(w, r, r.PathValue("name"))
	})
	mux.HandleFunc("GET /v1/containerd", func(w http.ResponseWriter, r *http.Request) {
		in.mu.Lock()
		c := in.containerd
		in.mu.Unlock()
		if c == nil {
			writeError(w, http.StatusNotFound, errors.New("containerd was not started"))
			return
		}
		writeJSON(w, http.StatusOK, c.state())
	})
	watchdog := func(w http.ResponseWriter) *watchdog {
		in.mu.Lock()
		wd := in.watchdog
		in.mu.Unlock()
		if wd == nil {
			writeError(w, http.StatusNotFound, errors.New("no watchdog is armed (keel.watchdog=SECONDS on the kernel command line arms one)"))
		}
		return wd
	}
	mux.HandleFunc("GET /v1/watchdog", func(w http.ResponseWriter, r *http.Request) {
		if wd := watchdog(w); wd != nil {
			writeJSON(w, http.StatusOK, wd.state())
		}
	})
	mux.HandleFunc("POST /v1/watchdog/test", func(w http.ResponseWriter, r *http.Request) {
		if !allowed(w, r, "watchdog test") {
			return
		}
		wd := watchdog(w)
		if wd == nil {
			return
		}
		if err := wd.test(); err != nil {
			writeError(w, http.StatusConflict, err)
			return
		}
		writeJSON(w, http.StatusAccepted, wd.state())
	})
	mux.HandleFunc("GET /v1/timeline", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(in.tl.json())
	})
	mux.HandleFunc("GET /v1/memory", func(w http.ResponseWriter, r *http.Request) {
		// As at services ready: free pages go back to the kernel first, so samples compare.
		debug.FreeOSMemory()
		writeJSON(w, http.StatusOK, sampleMemory())
	})
	for path, a := range map[string]powerAction{"/v1/poweroff": powerOff, "/v1/reboot": reboot, "/v1/halt": halt} {
		mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
			if !allowed(w, r, a.String()) {
				return
			}
			if r.URL.Query().Get("timeline") == "1" {
				in.timelineAtEnd.Store(true)
			}
			writeJSON(w, http.StatusAccepted, map[string]string{"action": a.String()})
			goSafe("shutdown", func() { in.shutdownMachine(a) })
		})
	}
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

// queryInt reads an integer query parameter.
func queryInt(r *http.Request, key string, def int) int {
	if v := r.URL.Query().Get(key); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return n
		}
	}
	return def
}
