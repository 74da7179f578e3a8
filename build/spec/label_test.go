package spec

import (
	"encoding/json"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseLabelReadsLinuxKitJSONLabel(t *testing.T) {
	// The label of linuxkit/getty, with a few more keys.
	label := `{"binds":["/etc/getty.shadow:/etc/shadow","/run:/run"],"capabilities":["all"],` +
		`"capabilities.add":["CAP_SYS_ADMIN"],"devices":[{"path":"/dev/console","type":"c","major":5,"minor":1,"mode":"0666"}],` +
		`"net":"host","pid":"host","uid":0,"additionalGids":["getty",5],"resources":{"memory":{"limit":1000}},` +
		`"runtime":{"mkdir":["/var/log"],"bindNS":{"net":"/run/netns/getty"}}}`
	ic, err := ParseLabel(`image "linuxkit/getty:v1" label`, []byte(label))
	if err != nil {
		t.Fatal(err)
	}
	limit := int64(1000)
	want := &ImageConfig{
		Binds:           &[]string{"/etc/getty.shadow:/etc/shadow", "/run:/run"},
		Capabilities:    &[]string{"all"},
		CapabilitiesAdd: &[]string{"CAP_SYS_ADMIN"},
		Devices:         &[]Device{{Path: "/dev/console", Type: "c", Major: 5, Minor: 1, Mode: "0666"}},
		Net:             ptr("host"),
		Pid:             ptr("host"),
		UID:             &ID{},
		AdditionalGids:  &[]ID{{Name: "getty"}, {Num: 5}},
		Resources:       &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}},
		Runtime:         &Runtime{Mkdir: &[]string{"/var/log"}, BindNS: &Namespaces{Net: ptr("/run/netns/getty")}},
	}
	if !reflect.DeepEqual(ic, want) {
		t.Errorf("label = %+v\nwant %+v", ic, want)
	}
}

func TestParseLabelRejectsNameImageAndUnknownKeysNamingTheLabel(t *testing.T) {
	for _, tc := range []struct{ label, want string }{
		{`{"name":"x"}`, `image "a:1" label: unknown key "name"`},
		{`{"image":"x"}`, `image "a:1" label: unknown key "image"`},
		{`{"capabilites":["all"]}`, `unknown key "capabilites" (did you mean "capabilities"?)`},
		{`{"readonly":"true"}`, `readonly: expected a boolean (true or false), got string "true"`},
		{"{\n  \"net\": \"bridge\"\n}", `image "a:1" label:2: net: invalid net namespace "bridge"`},
		{`["all"]`, `image "a:1" label: expected a mapping, got a list`},
		{`{"binds": [}`, `image "a:1" label: invalid YAML`},
	} {
		_, err := ParseLabel(`image "a:1" label`, []byte(tc.label))
		wantError(t, err, tc.want)
	}
}

func TestImageConfigMarshalsToTheLabelItParsesFrom(t *testing.T) {
	label := `{"capabilities":["CAP_NET_ADMIN"],"capabilities.add":["CAP_SYS_TIME"],"binds.add":["/a:/b"],` +
		`"readonly":true,"uid":"getty","gid":0,"oomScoreAdj":-100,"sysctl":{"a.b":"1"},"runtime":{"namespace":"x"}}`
	ic, err := ParseLabel("label", []byte(label))
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(ic)
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseLabel("label", out)
	if err != nil {
		t.Fatalf("re-parse of %s: %v", out, err)
	}
	if !reflect.DeepEqual(ic, again) {
		t.Errorf("label changed by a round trip through JSON: %s", out)
	}
	// encoding/json reads it too, for code that does not need positions.
	var plain ImageConfig
	if err := json.Unmarshal(out, &plain); err != nil || !reflect.DeepEqual(&plain, ic) {
		t.Errorf("json.Unmarshal = %+v, %v", plain, err)
	}
}
