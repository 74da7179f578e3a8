package spec

import "testing"

func TestParseDecodesSeccompAndRejectsOtherValues(t *testing.T) {
	cfg := mustParse(t, `
services:
  - {name: a, image: a:1, seccomp: unconfined}
  - {name: b, image: b:1, seccomp: default}
`)
	if got := *cfg.Services[0].Seccomp; got != SeccompUnconfined {
		t.Errorf("seccomp = %q", got)
	}
	_, err := parse(t, "s.yml", `
services:
  - {name: a, image: a:1, seccomp: off}
`)
	wantError(t, err, `s.yml:2: services[0] "a": seccomp: invalid seccomp "off": expected "default" or "unconfined"`)
}

func TestParseLabelAcceptsSeccomp(t *testing.T) {
	ic, err := ParseLabel("label", []byte(`{"seccomp": "unconfined"}`))
	if err != nil {
		t.Fatal(err)
	}
	if ic.Seccomp == nil || *ic.Seccomp != SeccompUnconfined {
		t.Errorf("seccomp = %v", ic.Seccomp)
	}
}

func TestParseStrictInAnyFileMakesTheMergeStrict(t *testing.T) {
	for _, order := range [][2]string{{"strict: true\n", ""}, {"", "strict: true\n"}} {
		cfg, err := Parse(Source{Name: "a.yml", Data: []byte(order[0])}, Source{Name: "b.yml", Data: []byte(order[1])})
		if err != nil {
			t.Fatal(err)
		}
		if !cfg.Strict {
			t.Errorf("%q + %q: not strict", order[0], order[1])
		}
	}
	if cfg := mustParse(t, "services: []\n"); cfg.Strict {
		t.Errorf("strict without the key")
	}
}
