package kernelconfig

import (
	"reflect"
	"testing"
)

func TestDroppedReportsRequestedSymbolMissingFromFinalConfig(t *testing.T) {
	reqs := []Request{
		{Symbol: "CONFIG_MISC_FILESYSTEMS", Value: "y", File: "common.config", Line: 170},
		{Symbol: "CONFIG_SQUASHFS", Value: "y", File: "common.config", Line: 171},
	}
	final := Config{"CONFIG_MISC_FILESYSTEMS": "y"}
	got := Dropped(reqs, final)
	want := []Problem{{Symbol: "CONFIG_SQUASHFS", Want: "y", Got: Absent, File: "common.config", Line: 171}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	const s = "common.config:171: CONFIG_SQUASHFS=y requested, but olddefconfig dropped it (absent): a dependency or menu gate is off"
	if got[0].String() != s {
		t.Errorf("String() = %q\nwant       %q", got[0].String(), s)
	}
}

func TestDroppedAcceptsNotSetSymbolThatIsAbsent(t *testing.T) {
	reqs := []Request{
		{Symbol: "CONFIG_HIBERNATION", Value: "n", File: "common.config", Line: 1},
		{Symbol: "CONFIG_KEXEC", Value: "n", File: "common.config", Line: 2},
	}
	if got := Dropped(reqs, Config{"CONFIG_KEXEC": "n"}); len(got) != 0 {
		t.Errorf("got %v, want nothing: absent is off", got)
	}
}

func TestDroppedReportsNotSetSymbolThatIsOn(t *testing.T) {
	reqs := []Request{{Symbol: "CONFIG_COMPAT_BRK", Value: "n", File: "a.config", Line: 4}}
	got := Dropped(reqs, Config{"CONFIG_COMPAT_BRK": "y"})
	if len(got) != 1 || got[0].Got != "y" || got[0].Want != "n" {
		t.Fatalf("got %+v", got)
	}
	if s := got[0].String(); s != "a.config:4: CONFIG_COMPAT_BRK=n requested, but olddefconfig set it to y: something selects it, or it cannot be turned off here" {
		t.Errorf("String() = %q", s)
	}
}

func TestDroppedReportsModuleWhereBuiltInWasRequested(t *testing.T) {
	reqs := []Request{
		{Symbol: "CONFIG_VETH", Value: "y", File: "a.config", Line: 1},
		{Symbol: "CONFIG_E1000", Value: "m", File: "a.config", Line: 2},
	}
	got := Dropped(reqs, Config{"CONFIG_VETH": "m", "CONFIG_E1000": "y"})
	want := []Problem{
		{Symbol: "CONFIG_VETH", Want: "y", Got: "m", File: "a.config", Line: 1},
		{Symbol: "CONFIG_E1000", Want: "m", Got: "y", File: "a.config", Line: 2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestDroppedComparesOnlyTheLastRequestForASymbol(t *testing.T) {
	reqs := []Request{
		{Symbol: "CONFIG_MISC_FILESYSTEMS", Value: "y", File: "common.config", Line: 170},
		{Symbol: "CONFIG_SQUASHFS", Value: "y", File: "common.config", Line: 171},
		{Symbol: "CONFIG_MISC_FILESYSTEMS", Value: "n", File: "broken.config", Line: 1},
		{Symbol: "CONFIG_SQUASHFS", Value: "y", File: "broken.config", Line: 2},
	}
	got := Dropped(reqs, Config{"CONFIG_MISC_FILESYSTEMS": "n"})
	want := []Problem{{Symbol: "CONFIG_SQUASHFS", Want: "y", Got: Absent, File: "broken.config", Line: 2}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestDroppedComparesStringAndNumberValuesAsWritten(t *testing.T) {
	reqs := []Request{
		{Symbol: "CONFIG_LOCALVERSION", Value: `"-keel"`, File: "c", Line: 1},
		{Symbol: "CONFIG_LOG_BUF_SHIFT", Value: "17", File: "c", Line: 2},
		{Symbol: "CONFIG_NR_CPUS", Value: "9999", File: "c", Line: 3},
	}
	final := Config{"CONFIG_LOCALVERSION": `"-keel"`, "CONFIG_LOG_BUF_SHIFT": "17", "CONFIG_NR_CPUS": "512"}
	got := Dropped(reqs, final)
	if len(got) != 1 || got[0].Symbol != "CONFIG_NR_CPUS" || got[0].Got != "512" {
		t.Errorf("got %+v, want only CONFIG_NR_CPUS", got)
	}
}
