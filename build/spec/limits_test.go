package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// billionLaughs is a YAML file of a few hundred bytes whose aliases expand to 10^9 nodes.
func billionLaughs() []byte {
	var b strings.Builder
	b.WriteString("x0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i <= 8; i++ {
		fmt.Fprintf(&b, "x%d: &l%d [", i, i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*l%d", i-1)
		}
		b.WriteString("]\n")
	}
	b.WriteString("services:\n  - name: bomb\n    image: alpine\n    command: *l8\n")
	return []byte(b.String())
}

func TestParseRefusesABillionLaughsQuicklyNamingTheAlias(t *testing.T) {
	data := billionLaughs()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := Parse(Source{Name: "bomb.yml", Data: data})
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	// The fifth line's aliases are the first to reach past the limit: 10 × 10^4 nodes.
	wantError(t, err, "bomb.yml:5: ", "alias *l3", "more than 100000 nodes")
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("parsing a %d-byte bomb allocated %d MiB", len(data), alloc>>20)
	}
	if elapsed > 2*time.Second {
		t.Errorf("parsing a %d-byte bomb took %s", len(data), elapsed)
	}
}

func TestParseAcceptsAFewAliases(t *testing.T) {
	cfg := mustParse(t, `
onboot:
  - name: dhcp
    image: alpine
    capabilities: &caps [CAP_NET_ADMIN, CAP_NET_RAW]
    binds: &binds [/etc:/etc, /var:/var]
services:
  - name: getty
    image: alpine
    capabilities: *caps
    binds: *binds
  - name: sshd
    image: alpine
    binds: *binds
`)
	if got := cfg.Services[1].Binds; got == nil || len(*got) != 2 || (*got)[1] != "/var:/var" {
		t.Errorf("sshd binds = %v, want those of dhcp", got)
	}
	if got := cfg.Services[0].Capabilities; got == nil || len(*got) != 2 || (*got)[0] != "CAP_NET_ADMIN" {
		t.Errorf("getty capabilities = %v, want those of dhcp", got)
	}
}

func TestParseRefusesAnAliasOfAValueContainingItself(t *testing.T) {
	_, err := parse(t, "loop.yml", `
services:
  - &svc
    name: a
    image: alpine
    command: [*svc]
`)
	wantError(t, err, "loop.yml:5: ", "alias *svc: refers to a value containing itself")
}

func TestParseRefusesAFileLargerThanTheLimit(t *testing.T) {
	data := []byte("services: []\n" + strings.Repeat("# padding\n", MaxFileSize/10))
	_, err := Parse(Source{Name: "big.yml", Data: data})
	wantError(t, err, "big.yml: ", "larger than the limit of 1048576 bytes")

	p := filepath.Join(t.TempDir(), "big.yml")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ParseFile(p)
	if err == nil || !strings.Contains(err.Error(), p+": larger than the limit of 1048576 bytes (1 MiB)") {
		t.Errorf("ParseFile of a %d-byte file: error %v, want one naming the file and the limit", len(data), err)
	}
}

func TestParseLabelRefusesAnchorsAndAliases(t *testing.T) {
	for _, label := range []string{
		`{"binds": &b ["/run:/run"], "mounts": []}`,
		"binds: &b [/run:/run]\ncapabilities: *b\n",
	} {
		_, err := ParseLabel(`image "x" label`, []byte(label))
		wantError(t, err, `image "x" label`, "anchor &b: anchors and aliases are not allowed in an image label")
	}
}
