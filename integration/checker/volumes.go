package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// volumes checks the volumes bound into this container. mode "write": dir is writable and
// gets a marker; "read": dir holds the marker a writer left and refuses writes (bound
// read-only); "oci": dir is an OCI image layout whose index names a manifest it holds.
func volumes(mode, dir string) {
	marker := filepath.Join(dir, "marker")
	switch mode {
	case "write":
		err := os.WriteFile(marker, []byte("written\n"), 0o644)
		check("volume-rw "+dir, err == nil, "write: %v", err)
	case "read":
		data, err := os.ReadFile(marker)
		check("volume-shared "+dir, err == nil && strings.TrimSpace(string(data)) == "written", "marker %q: %v", data, err)
		err = os.WriteFile(filepath.Join(dir, "intruder"), nil, 0o644)
		check("volume-ro "+dir, errors.Is(err, syscall.EROFS), "write: %v", err)
	case "readonly":
		err := os.WriteFile(filepath.Join(dir, "intruder"), nil, 0o644)
		check("volume-ro "+dir, errors.Is(err, syscall.EROFS), "write: %v", err)
	case "oci":
		ociLayout(dir)
	default:
		check("volume "+mode, false, "unknown mode")
	}
}

// ociLayout checks dir/oci-layout, and that the first manifest of dir/index.json is a blob
// in dir.
func ociLayout(dir string) {
	_, err := os.Stat(filepath.Join(dir, "oci-layout"))
	if !check("volume-oci-layout "+dir, err == nil, "%v", err) {
		return
	}
	data, err := os.ReadFile(filepath.Join(dir, "index.json"))
	var idx struct {
		Manifests []struct {
			Digest   string `json:"digest"`
			Platform struct {
				Architecture string `json:"architecture"`
			} `json:"platform"`
		} `json:"manifests"`
	}
	if err == nil {
		err = json.Unmarshal(data, &idx)
	}
	if !check("volume-oci-index "+dir, err == nil && len(idx.Manifests) > 0, "manifests=%d: %v", len(idx.Manifests), err) {
		return
	}
	m := idx.Manifests[0]
	alg, hex, _ := strings.Cut(m.Digest, ":")
	_, err = os.Stat(filepath.Join(dir, "blobs", alg, hex))
	check("volume-oci-manifest "+dir, err == nil, "arch=%s %s: %v", m.Platform.Architecture, m.Digest, err)
}
