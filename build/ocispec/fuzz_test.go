package ocispec

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/keel-os/keel/build/spec"
)

// FuzzConvertImageLabel converts a service whose image has the fuzzed text as its
// org.mobyproject.config label. A label that parses reads the same once written as JSON,
// which is what labels are in practice; errors are *spec.Error at the service; a converted
// container has a root, a process and absolute mount destinations.
func FuzzConvertImageLabel(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.images.json")
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var images map[string]struct{ Label json.RawMessage }
		if json.Unmarshal(data, &images) != nil {
			continue
		}
		for _, img := range images {
			if len(img.Label) > 0 {
				f.Add(string(img.Label))
			}
		}
	}
	for _, s := range []string{
		`{}`,
		`{"binds":["/run:/run"],"capabilities":["all"],"net":"host","uid":0,"additionalGids":["getty",5]}`,
		`{"devices":[{"path":"/dev/console","type":"c","major":5,"minor":1,"mode":"0666"}],"resources":{"memory":{"limit":1000}}}`,
		`{"runtime":{"mkdir":["/var/log"],"bindNS":{"net":"/run/netns/getty"}},"sysctl":{"net.ipv4.ip_forward":"1"}}`,
		"binds: &b [/run:/run]\ncapabilities: *b\n",
		`{"name":"x","image":"y","after":["z"]}`,
		`{"mounts":[{"type":"bind","source":"/a","destination":"rel","options":["rbind"]}],"tmpfs":["/t:size=1m"]}`,
	} {
		f.Add(s)
	}
	cfg, err := spec.Parse(spec.Source{Name: "svc.yml", Data: []byte("services:\n  - name: svc\n    image: example/svc:1\n")})
	if err != nil {
		f.Fatal(err)
	}
	img, ids := cfg.Services[0], cfg.IDs()
	const labelName = `image "example/svc:1" label org.mobyproject.config`
	f.Fuzz(func(t *testing.T, label string) {
		ic := v1.ImageConfig{Cmd: []string{"/bin/sh"}, Labels: map[string]string{spec.LabelKey: label}}
		s, _, err := ConvertImage(img, ic, Options{Kind: Service, IDs: ids})
		if err != nil {
			var e *spec.Error
			if !errors.As(err, &e) || !strings.HasPrefix(err.Error(), `svc.yml:2: services "svc": `) {
				t.Fatalf("error %q (%T) is not a *spec.Error at the service", err, err)
			}
		} else {
			if s.Root == nil || s.Process == nil || len(s.Process.Args) == 0 {
				t.Fatalf("converted spec lacks a root or a process: %+v", s)
			}
			for _, m := range s.Mounts {
				if !strings.HasPrefix(m.Destination, "/") {
					t.Errorf("mount destination %q is not absolute", m.Destination)
				}
			}
		}
		parsed, err := spec.ParseLabel(labelName, []byte(label))
		if err != nil {
			return
		}
		j, err := json.Marshal(parsed)
		if err != nil {
			t.Fatalf("marshal label: %v", err)
		}
		again, err := spec.ParseLabel(labelName, j)
		if err != nil {
			t.Fatalf("label written as JSON does not parse: %v\n%s", err, j)
		}
		if j2, _ := json.Marshal(again); string(j2) != string(j) {
			t.Fatalf("label changed writing it as JSON:\n%s\nbecame\n%s", j, j2)
		}
	})
}
