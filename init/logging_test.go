package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keel-os/keel/bundle"
	"github.com/keel-os/keel/init/logs"
)

func TestContainerdOutputGoesToItsRotatedLog(t *testing.T) {
	dir := t.TempDir()
	in := &initProc{logs: logs.New(logs.Options{Dir: dir, MaxSize: 4096, MaxFiles: 2})}
	w, err := in.containerdLog()
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("x", 100) + "\n"
	for range 100 { // 10 KB: more than both files hold
		if _, err := w.WriteString(line); err != nil {
			t.Fatal(err)
		}
	}
	w.WriteString("containerd says goodbye\n")
	w.Close()
	log := filepath.Join(dir, "containerd.log")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		data, _ := os.ReadFile(log)
		if strings.Contains(string(data), "containerd says goodbye") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s lacks the last line: %q", log, data)
		}
	}
	if _, err := os.Stat(log + ".1"); err != nil {
		t.Errorf("not rotated: %v", err)
	}
	if _, err := os.Stat(log + ".2"); err == nil {
		t.Errorf("more files kept than MaxFiles")
	}
	if st, err := os.Stat(log); err != nil || st.Size() > 4096 {
		t.Errorf("%s: %v, size above MaxSize", log, err)
	}
}

// Onboot entries may share a name (LinuxKit allows it): each bundle directory carries its
// index, and the bundle's name, which is the runc id and the log's name, is that directory.
func TestOnbootContainersSharingANameGetTheirOwnLogs(t *testing.T) {
	bundles := t.TempDir()
	for _, d := range []string{"000-twice", "001-twice"} {
		if err := os.MkdirAll(filepath.Join(bundles, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bundles, d, "config.json"), []byte(`{"ociVersion":"1.0.2"}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	loaded, complete := loadBundles(bundles)
	if !complete || len(loaded) != 2 || loaded[0].Name != "000-twice" || loaded[1].Name != "001-twice" {
		t.Fatalf("loadBundles = %d bundles, complete %v", len(loaded), complete)
	}
	logDir := t.TempDir()
	in := &initProc{onbootLogs: logs.New(logs.Options{Dir: logDir})}
	for _, b := range loaded {
		w := in.containerLog(bundle.OnbootDir, b.Name)
		if _, err := io.WriteString(w, "ran as "+b.Name+"\n"); err != nil {
			t.Fatal(err)
		}
		w.Close()
	}
	for i, b := range loaded {
		log := filepath.Join(logDir, b.Name+".log")
		other := "ran as " + loaded[1-i].Name
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			data, _ := os.ReadFile(log)
			if strings.Contains(string(data), other) {
				t.Fatalf("%s has the other container's output: %q", log, data)
			}
			if strings.Contains(string(data), "ran as "+b.Name) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %q, want only its own container's output", log, data)
			}
		}
	}
}
