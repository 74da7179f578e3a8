package spec

import (
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestParseDecodesEveryKeelOnlyKey(t *testing.T) {
	cfg := mustParse(t, `
onboot:
  - name: setup
    image: example/setup:1
    essential: true
    timeout: 30s
    console: true
onshutdown:
  - name: flush
    image: example/flush:1
    essential: false
    timeout: 1m30s
services:
  - name: net
    image: example/net:1
  - name: web
    image: example/web:1
    restart: always
    backoff: {initial: 100ms, max: 30s, reset: 60s}
    after: [net]
    wait: network
    emergency: true
    console: true
`)
	checks := []struct {
		name      string
		got, want ImageConfig
	}{
		{"onboot", cfg.Onboot[0].ImageConfig, ImageConfig{Essential: ptr(true), Timeout: ptr("30s"), Console: ptr(true)}},
		{"onshutdown", cfg.Onshutdown[0].ImageConfig, ImageConfig{Essential: ptr(false), Timeout: ptr("1m30s")}},
		{"service", cfg.Services[1].ImageConfig, ImageConfig{
			Restart:   ptr("always"),
			Backoff:   &Backoff{Initial: "100ms", Max: "30s", Reset: "60s"},
			After:     &[]string{"net"},
			Wait:      ptr("network"),
			Emergency: ptr(true),
			Console:   ptr(true),
		}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			got, _ := yaml.Marshal(c.got)
			want, _ := yaml.Marshal(c.want)
			t.Errorf("%s: decoded\n%s\nwant\n%s", c.name, got, want)
		}
	}
	if p := cfg.Services[1].KeyPos["after"]; p.String() != "test.yml:19" {
		t.Errorf("after is recorded at %q, want test.yml:19", p)
	}
}

func TestMarshalYAMLKeepsKeelOnlyKeys(t *testing.T) {
	cfg := mustParse(t, `
onboot: [{name: setup, image: a:1, essential: true, timeout: 5s}]
services:
  - {name: a, image: a:1, restart: never, backoff: {max: 1m}, after: [b], wait: network, emergency: true, console: true}
  - {name: b, image: b:1}
`)
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(Source{Name: "again.yml", Data: out})
	if err != nil {
		t.Fatalf("re-parse of\n%s\nfailed: %v", out, err)
	}
	clearPositions(cfg)
	clearPositions(again)
	if !reflect.DeepEqual(cfg, again) {
		t.Errorf("round trip changed the configuration; YAML was\n%s", out)
	}
}

func TestParseRejectsKeelOnlyKeysOutsideTheirSectionsWithFileAndLine(t *testing.T) {
	for _, tc := range []struct {
		name, section, line, want string
	}{
		{"restart on an onboot entry", "onboot", "restart: always", `onboot[0] "x": restart: only allowed in services, not in onboot`},
		{"backoff on an onshutdown entry", "onshutdown", "backoff: {max: 1s}", `onshutdown[0] "x": backoff: only allowed in services, not in onshutdown`},
		{"after on an onboot entry", "onboot", "after: [x]", `onboot[0] "x": after: only allowed in services`},
		{"wait on an onboot entry", "onboot", "wait: network", `onboot[0] "x": wait: only allowed in services`},
		{"emergency on an onboot entry", "onboot", "emergency: true", `onboot[0] "x": emergency: only allowed in services`},
		{"essential on a service", "services", "essential: true", `services[0] "x": essential: only allowed in onboot and onshutdown, not in services`},
		{"timeout on a service", "services", "timeout: 10s", `services[0] "x": timeout: only allowed in onboot and onshutdown, not in services`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, "file.yml", `
`+tc.section+`:
  - name: x
    image: img:1
    `+tc.line+`
`)
			wantError(t, err, "file.yml:4: "+tc.want)
		})
	}
}

func TestParseAcceptsConsoleInEverySection(t *testing.T) {
	cfg := mustParse(t, `
onboot: [{name: a, image: a:1, console: true}]
onshutdown: [{name: b, image: b:1, console: true}]
services: [{name: c, image: c:1, console: true}]
`)
	for _, img := range []Image{cfg.Onboot[0], cfg.Onshutdown[0], cfg.Services[0]} {
		if img.Console == nil || !*img.Console {
			t.Errorf("%s: console = %v, want true", img.Name, img.Console)
		}
	}
}

func TestParseRejectsInvalidKeelValuesWithFileAndLine(t *testing.T) {
	for _, tc := range []struct {
		name, section, line, want string
	}{
		{"bad restart value", "services", "restart: sometimes", `restart: invalid restart policy "sometimes": expected "always", "on-failure" or "never"`},
		{"bad timeout duration", "onboot", "timeout: soon", `timeout: invalid duration "soon": expected a positive duration`},
		{"timeout without unit", "onboot", "timeout: 30", `timeout: invalid duration "30"`},
		{"negative timeout", "onshutdown", "timeout: -5s", `timeout: invalid duration "-5s"`},
		{"zero timeout", "onboot", "timeout: 0s", `timeout: invalid duration "0s"`},
		{"bad backoff duration", "services", "backoff: {initial: 1x}", `backoff.initial: invalid duration "1x"`},
		{"backoff initial above max", "services", "backoff: {initial: 1m, max: 30s}", "backoff.initial: initial delay 1m is longer than max 30s"},
		{"backoff unknown key", "services", "backoff: {maxi: 1s}", `backoff: unknown key "maxi" (did you mean "max"?)`},
		{"wait for something else", "services", "wait: disk", `wait: invalid wait "disk": expected "network"`},
		{"emergency not a boolean", "services", "emergency: yes", "emergency: expected a boolean"},
		{"essential not a boolean", "onboot", `essential: "true"`, "essential: expected a boolean"},
		{"after not a list", "services", "after: x", "after: expected a list"},
		{"after invalid name", "services", `after: ["a b"]`, `after[0]: invalid name "a b"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, "file.yml", `
`+tc.section+`:
  - name: x
    image: img:1
    `+tc.line+`
`)
			wantError(t, err, "file.yml:4: ", `[0] "x": `+tc.want)
		})
	}
}

func TestParseRejectsAfterNamingAnUnknownServiceWithFileAndLine(t *testing.T) {
	_, err := parse(t, "a.yml", `
services:
  - name: dhcpcd
    image: d:1
  - name: web
    image: w:1
    after:
      - dhcpcd
      - dhcpd
`)
	wantError(t, err, `a.yml:6: services[1] "web": after[1]: no service named "dhcpd" (did you mean "dhcpcd"?)`)
}

func TestParseRejectsAfterNamingAnOnbootContainer(t *testing.T) {
	_, err := parse(t, "a.yml", `
onboot: [{name: setup, image: s:1}]
services:
  - {name: web, image: w:1, after: [setup]}
`)
	wantError(t, err, `a.yml:3: services[0] "web": after[0]: "setup" is in onboot, not a service`)
}

func TestParseRejectsAfterCycleListingTheCycle(t *testing.T) {
	for _, tc := range []struct{ name, services, want string }{
		{"two services", `
  - name: a
    image: a:1
    after: [b]
  - name: b
    image: b:1
    after: [a]
`, `a.yml:4: services[0] "a": after: cycle a → b → a`},
		{"self", `
  - name: a
    image: a:1
  - name: b
    image: b:1
    after: [a, b]
`, `a.yml:6: services[1] "b": after: cycle b → b`},
		{"three services behind another", `
  - name: x
    image: x:1
    after: [a]
  - name: a
    image: a:1
    after: [b]
  - name: b
    image: b:1
    after: [c]
  - name: c
    image: c:1
    after: [a]
`, `a.yml:7: services[1] "a": after: cycle a → b → c → a`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, "a.yml", "services:"+tc.services)
			wantError(t, err, tc.want)
		})
	}
}

func TestParseAcceptsAfterAcrossFilesWithoutCycle(t *testing.T) {
	cfg, err := Parse(
		Source{Name: "a.yml", Data: text("services: [{name: web, image: w:1, after: [db, net]}]\n")},
		Source{Name: "b.yml", Data: text("services: [{name: db, image: d:1, after: [net]}, {name: net, image: n:1}]\n")},
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := *cfg.Services[0].After; !reflect.DeepEqual(got, []string{"db", "net"}) {
		t.Errorf("after = %v", got)
	}
}

func TestParseReportsAfterCycleAcrossFilesAtTheFirstService(t *testing.T) {
	_, err := Parse(
		Source{Name: "a.yml", Data: text("services: [{name: web, image: w:1, after: [db]}]\n")},
		Source{Name: "b.yml", Data: text("services:\n  - {name: db, image: d:1, after: [web]}\n")},
	)
	wantError(t, err, `a.yml:1: services[0] "web": after: cycle web → db → web`)
}

func TestParseLabelReadsKeelOnlyKeysOfEverySection(t *testing.T) {
	ic, err := ParseLabel("label", []byte(`{"restart":"always","backoff":{"initial":"1s"},"wait":"network","emergency":true,`+
		`"console":true,"essential":true,"timeout":"10s"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := &ImageConfig{Restart: ptr("always"), Backoff: &Backoff{Initial: "1s"}, Wait: ptr("network"), Emergency: ptr(true),
		Console: ptr(true), Essential: ptr(true), Timeout: ptr("10s")}
	if !reflect.DeepEqual(ic, want) {
		t.Errorf("label = %+v\nwant %+v", ic, want)
	}
}

func TestParseLabelRejectsAfterAndBadKeelValues(t *testing.T) {
	for _, tc := range []struct{ label, want string }{
		{`{"after":["net"]}`, `label: after: not allowed in an image label`},
		{`{"restart":"sometimes"}`, `label: restart: invalid restart policy "sometimes"`},
		{`{"timeout":"forever"}`, `label: timeout: invalid duration "forever"`},
	} {
		_, err := ParseLabel("label", []byte(tc.label))
		wantError(t, err, tc.want)
		if err != nil && strings.Contains(err.Error(), "label:1") {
			t.Errorf("one-line label error names a line: %v", err)
		}
	}
}
