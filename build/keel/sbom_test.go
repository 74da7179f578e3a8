package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestBuildWithSBOMWritesAnSPDXDocumentNamingEveryImage(t *testing.T) {
	srv, host := registryWithImages(t)
	defer srv.Close()
	dir, cache := t.TempDir(), t.TempDir()
	yml := writeYAML(t, dir, "m.yml", fmt.Sprintf("kernel:\n  image: %[1]s/keel/kernel:1\ninit:\n  - %[1]s/keel/init:1\nservices:\n  - name: svc\n    image: %[1]s/keel/svc:1\n", host))
	var docs [2][]byte
	for i := range docs {
		out := filepath.Join(dir, fmt.Sprint("out", i))
		if code, _, stderr := keel(t, "build", "--cache", cache, "-o", out, "--name", "n", "--sbom", yml); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var err error
		if docs[i], err = os.ReadFile(filepath.Join(out, "n.spdx.json")); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(docs[0], docs[1]) {
		t.Error("two builds of the same YAML wrote different SBOMs")
	}
	var doc struct {
		SPDXVersion string `json:"spdxVersion"`
		Packages    []struct {
			Name string `json:"name"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(docs[0], &doc); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, p := range doc.Packages {
		names[p.Name] = true
	}
	for _, want := range []string{"n", host + "/keel/kernel:1", host + "/keel/init:1", host + "/keel/svc:1"} {
		if !names[want] {
			t.Errorf("SBOM packages %v lack %s", names, want)
		}
	}
	if doc.SPDXVersion != "SPDX-2.3" {
		t.Errorf("spdxVersion = %q", doc.SPDXVersion)
	}
}

func TestBuildWithoutSBOMWritesNone(t *testing.T) {
	srv, host := registryWithImages(t)
	defer srv.Close()
	dir, cache := t.TempDir(), t.TempDir()
	yml := writeYAML(t, dir, "m.yml", fmt.Sprintf("kernel:\n  image: %[1]s/keel/kernel:1\ninit:\n  - %[1]s/keel/init:1\n", host))
	out := filepath.Join(dir, "out")
	if code, _, stderr := keel(t, "build", "--cache", cache, "-o", out, "--name", "n", yml); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "n.spdx.json")); !os.IsNotExist(err) {
		t.Errorf("n.spdx.json without --sbom: %v", err)
	}
}
