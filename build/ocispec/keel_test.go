package ocispec

import (
	"reflect"
	"testing"

	"github.com/keel-os/keel/build/spec"
	"github.com/keel-os/keel/bundle"
)

func TestConvertYAMLRestartOverridesLabelRestart(t *testing.T) {
	img, ids := service(t, "    restart: never\n")
	ic := shell
	ic.Labels = map[string]string{spec.LabelKey: `{"restart": "always", "console": true}`}
	_, rt, err := ConvertImage(img, ic, Options{Kind: Service, IDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	if want := (&bundle.Keel{Restart: bundle.RestartNever, Console: true}); !reflect.DeepEqual(rt.Keel, want) {
		t.Errorf("keel = %+v, want %+v", rt.Keel, want)
	}
}

func TestConvertTakesLabelRestartWhenYAMLHasNone(t *testing.T) {
	img, ids := service(t, "")
	ic := shell
	ic.Labels = map[string]string{spec.LabelKey: `{"restart": "always"}`}
	_, rt, err := ConvertImage(img, ic, Options{Kind: Service, IDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	if rt.Keel == nil || rt.Keel.Restart != bundle.RestartAlways {
		t.Errorf("keel = %+v, want restart always", rt.Keel)
	}
}

func TestConvertLeavesKeelNilWithoutKeelKeys(t *testing.T) {
	img, ids := service(t, "    readonly: true\n")
	_, rt, err := Convert(img, &spec.ImageConfig{Emergency: ptr(false)}, shell, Options{Kind: Service, IDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	if rt.Keel != nil {
		t.Errorf("keel = %+v, want nil", rt.Keel)
	}
}

func TestConvertIgnoresLabelKeelKeysThatDoNotApplyToTheSection(t *testing.T) {
	label := &spec.ImageConfig{
		Restart: ptr("always"), Wait: ptr("network"), Emergency: ptr(true), Backoff: &spec.Backoff{Max: "1s"},
		Essential: ptr(true), Timeout: ptr("5s"),
	}
	img, ids := service(t, "")
	for _, tc := range []struct {
		kind Kind
		want *bundle.Keel
	}{
		{Service, &bundle.Keel{Restart: "always", Wait: "network", Emergency: true, Backoff: &bundle.Backoff{Max: "1s"}}},
		{Onboot, &bundle.Keel{Essential: true, Timeout: "5s"}},
		{Onshutdown, &bundle.Keel{Essential: true, Timeout: "5s"}},
	} {
		_, rt, err := Convert(img, label, shell, Options{Kind: tc.kind, IDs: ids})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(rt.Keel, tc.want) {
			t.Errorf("%s: keel = %+v, want %+v", tc.kind, rt.Keel, tc.want)
		}
	}
}

func TestConvertRejectsBackoffInvertedByYAMLOverLabel(t *testing.T) {
	img, ids := service(t, "    backoff: {initial: 1m}\n")
	_, _, err := Convert(img, &spec.ImageConfig{Backoff: &spec.Backoff{Max: "10s"}}, shell, Options{Kind: Service, IDs: ids})
	wantConvertError(t, err, `svc.yml:2: services "svc": backoff: initial delay 1m is longer than max 10s`)
}
