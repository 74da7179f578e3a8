package logs

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSavePstoreMovesFiles(t *testing.T) {
	pstore, dst := t.TempDir(), filepath.Join(t.TempDir(), "pstore")
	os.WriteFile(filepath.Join(pstore, "dmesg-ramoops-0"), []byte("panic"), 0o444)
	os.WriteFile(filepath.Join(pstore, "console-ramoops-0"), []byte("console"), 0o444)
	os.Mkdir(filepath.Join(pstore, "subdir"), 0o755)
	os.MkdirAll(dst, 0o700)
	os.WriteFile(filepath.Join(dst, "dmesg-ramoops-0"), []byte("earlier boot"), 0o600)

	n, err := SavePstore(pstore, dst)
	if err != nil || n != 2 {
		t.Fatalf("SavePstore = %d, %v; want 2, nil", n, err)
	}
	for name, want := range map[string]string{
		"dmesg-ramoops-0":   "earlier boot",
		"dmesg-ramoops-0.1": "panic",
		"console-ramoops-0": "console",
	} {
		if got := readFile(t, filepath.Join(dst, name)); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	left, _ := os.ReadDir(pstore)
	if len(left) != 1 || left[0].Name() != "subdir" {
		t.Errorf("pstore still holds %v", left)
	}
	if n, err := SavePstore(pstore, dst); n != 0 || err != nil {
		t.Errorf("second SavePstore = %d, %v; want 0, nil", n, err)
	}
}

func TestSavePstoreMissingDir(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "pstore")
	if n, err := SavePstore(filepath.Join(t.TempDir(), "none"), dst); n != 0 || err != nil {
		t.Errorf("SavePstore = %d, %v; want 0, nil", n, err)
	}
	if _, err := os.Stat(dst); err == nil {
		t.Error("dstDir created with nothing to save")
	}
}
