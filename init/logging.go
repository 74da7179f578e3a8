package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/keel-os/keel/init/logs"
)

// Sources of the log manager: a service's stderr is NAME (/var/log/NAME.log), its stdout
// NAME.out (/var/log/NAME.out.log); an onboot container's output is onboot/NAME; the
// kernel's is kmsg; containerd's is containerd.

// containerdLogSource is the source of containerd's output: /var/log/containerd.log.
const containerdLogSource = "containerd"

// containerdLog returns the write end of a pipe for containerd's output, whose lines go to
// its rotated log like a service's. The caller hands it to containerd and closes it.
func (in *initProc) containerdLog() (*os.File, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("containerd log pipe: %w", err)
	}
	lm := in.logs
	if lm == nil { // boot failed before the log managers existed
		lm = logs.New(logs.Options{Dir: logs.DefaultDir})
	}
	w := lm.Writer(containerdLogSource, false)
	goSafe("containerd log", func() {
		defer pr.Close()
		defer w.Close()
		_, _ = io.Copy(w, pr)
	})
	return pw, nil
}

// logSources are the sources keel-ctl logs NAME shows.
func logSources(name string) []string {
	switch {
	case name == "kmsg" || strings.Contains(name, "/"):
		return []string{name}
	}
	return []string{name, name + ".out"}
}

// startKernelLog saves the previous boot's pstore records and copies the kernel log into
// /var/log/kmsg.log. It runs after onboot, so a /var/log that onboot mounted from a disk
// receives it.
func (in *initProc) startKernelLog() {
	if n, err := logs.SavePstore("/sys/fs/pstore", "/var/log/pstore"); err != nil {
		logf("pstore: %v", err)
	} else if n > 0 {
		logf("saved %d pstore records of the previous boot in /var/log/pstore", n)
	}
	goSafe("kmsg", func() {
		if err := in.logs.CollectKmsg(context.Background(), "/dev/kmsg"); err != nil {
			logf("kernel log: %v", err)
		}
	})
}

// serveLogs answers GET /v1/logs/NAME: the newest n lines, then, with follow, new ones.
func (in *initProc) serveLogs(w http.ResponseWriter, r *http.Request, name string) {
	sources := logSources(name)
	known := name == "kmsg" || strings.HasPrefix(name, "onboot/")
	if !known {
		if _, err := in.services.find(name); err != nil {
			writeError(w, http.StatusNotFound, err)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	var follow <-chan logs.Line
	if r.URL.Query().Get("follow") == "1" {
		follow = in.logs.Follow(r.Context(), sources)
	}
	for _, l := range in.logs.Tail(sources, queryInt(r, "n", 50)) {
		fmt.Fprintf(w, "%s %s\n", l.Time.UTC().Format("2006-01-02T15:04:05.000000Z"), l.Text)
	}
	if follow == nil {
		return
	}
	f, _ := w.(http.Flusher)
	if f != nil {
		f.Flush()
	}
	for l := range follow {
		fmt.Fprintf(w, "%s %s\n", l.Time.UTC().Format("2006-01-02T15:04:05.000000Z"), l.Text)
		if f != nil {
			f.Flush()
		}
	}
}
