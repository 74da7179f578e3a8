package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
