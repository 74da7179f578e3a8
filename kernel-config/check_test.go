package kernelconfig

import (
	"strings"
	"testing"

	"github.com/keel-os/keel/arch"
)

// passing returns a config that meets every requirement for arch, under their current names.
func passing(arch string) Config {
	cfg := Config{}
	for _, r := range Requirements() {
		if !r.AppliesTo(arch) {
			continue
		}
		cfg[r.Symbols[0]] = r.Satisfying()
	}
	return cfg
}

// failed returns the names of the failed requirements.
func failed(rep Report) []string {
	var names []string
	for _, f := range rep.Failures {
		names = append(names, f.Symbols[0])
	}
	return names
}

func TestCheckPassesConfigMeetingEveryRequirement(t *testing.T) {
	for _, arch := range arch.Names() {
		rep := Check(passing(arch), arch)
		if !rep.OK() || rep.Checked == 0 {
			t.Errorf("%s: %s", arch, rep)
		}
		if !strings.Contains(rep.String(), "requirements met") {
			t.Errorf("%s: String() = %q", arch, rep)
		}
	}
}

func TestCheckFailsContainerListWithoutVeth(t *testing.T) {
	cfg := passing("amd64")
	delete(cfg, "CONFIG_VETH")
	rep := Check(cfg, "amd64")
	if rep.OK() || len(rep.Failures) != 1 {
		t.Fatalf("got %v, want one failure", rep)
	}
	f := rep.Failures[0]
	if f.List != Container || f.Symbols[0] != "CONFIG_VETH" || f.Got != Absent {
		t.Errorf("got %+v", f)
	}
	if s := f.String(); !strings.HasPrefix(s, "container: CONFIG_VETH: want y or m, got absent") {
		t.Errorf("String() = %q", s)
	}
	if s := rep.String(); !strings.Contains(s, "1 of ") || !strings.Contains(s, "\ncontainer: CONFIG_VETH:") {
		t.Errorf("report = %q", s)
	}
}

func TestCheckAcceptsModuleOnlyWhereAModuleWorks(t *testing.T) {
	cfg := passing("amd64")
	cfg["CONFIG_VETH"] = "m"
	cfg["CONFIG_OVERLAY_FS"] = "m"
	cfg["CONFIG_SECCOMP_FILTER"] = "m" // bool in Kconfig; m cannot do
	rep := Check(cfg, "amd64")
	got := failed(rep)
	// SECCOMP_FILTER is on both lists.
	if len(got) != 2 || got[0] != "CONFIG_SECCOMP_FILTER" || got[1] != "CONFIG_SECCOMP_FILTER" {
		t.Fatalf("failed %v, want CONFIG_SECCOMP_FILTER on both lists", got)
	}
	if s := rep.Failures[1].String(); !strings.HasPrefix(s, "hardening: CONFIG_SECCOMP_FILTER: want y, got m") {
		t.Errorf("String() = %q", s)
	}
}

func TestCheckFailsHardeningWithKexec(t *testing.T) {
	cfg := passing("arm64")
	cfg["CONFIG_KEXEC"] = "y"
	rep := Check(cfg, "arm64")
	if len(rep.Failures) != 1 || rep.Failures[0].List != Hardening || rep.Failures[0].Got != "y" {
		t.Fatalf("got %v", rep)
	}
	if s := rep.Failures[0].String(); !strings.HasPrefix(s, "hardening: CONFIG_KEXEC: want n or absent, got y") {
		t.Errorf("String() = %q", s)
	}
}

func TestCheckTakesAbsentAsOff(t *testing.T) {
	cfg := passing("amd64")
	delete(cfg, "CONFIG_KEXEC")
	delete(cfg, "CONFIG_HIBERNATION")
	if rep := Check(cfg, "amd64"); !rep.OK() {
		t.Error(rep)
	}
}

func TestCheckDoesNotRequireStackProtectorOnS390x(t *testing.T) {
	cfg := passing("s390x")
	if _, ok := cfg["CONFIG_STACKPROTECTOR_STRONG"]; ok {
		t.Fatal("STACKPROTECTOR_STRONG applies to s390x")
	}
	if rep := Check(cfg, "s390x"); !rep.OK() {
		t.Error(rep)
	}
	if got := failed(Check(cfg, "arm64")); len(got) != 1 || got[0] != "CONFIG_STACKPROTECTOR_STRONG" {
		t.Errorf("arm64 without a stack protector: failed %v", got)
	}
}

func TestCheckSkipsX86RequirementsOnOtherArches(t *testing.T) {
	cfg := passing("arm64")
	cfg["CONFIG_MODIFY_LDT_SYSCALL"] = "y"
	if rep := Check(cfg, "arm64"); !rep.OK() {
		t.Error(rep)
	}
	if got := failed(Check(cfg, "amd64")); len(got) != 4 {
		t.Errorf("amd64: failed %v, want the retpoline, PTI, vsyscall and LDT requirements", got)
	}
}

func TestCheckAcceptsOlderNames(t *testing.T) {
	cfg := passing("amd64")
	delete(cfg, "CONFIG_MITIGATION_RETPOLINE")
	cfg["CONFIG_RETPOLINE"] = "y"
	delete(cfg, "CONFIG_MITIGATION_PAGE_TABLE_ISOLATION")
	cfg["CONFIG_PAGE_TABLE_ISOLATION"] = "y"
	delete(cfg, "CONFIG_STACKPROTECTOR_STRONG")
	cfg["CONFIG_CC_STACKPROTECTOR_STRONG"] = "y"
	if rep := Check(cfg, "amd64"); !rep.OK() {
		t.Error(rep)
	}
}

func TestCheckReportsEachNameOfARequirementWithOlderNames(t *testing.T) {
	cfg := passing("amd64")
	delete(cfg, "CONFIG_MITIGATION_RETPOLINE")
	cfg["CONFIG_RETPOLINE"] = "n"
	rep := Check(cfg, "amd64")
	if len(rep.Failures) != 1 {
		t.Fatalf("got %v", rep)
	}
	const want = "hardening: CONFIG_MITIGATION_RETPOLINE (or CONFIG_RETPOLINE): want y, got CONFIG_RETPOLINE=n"
	if s := rep.Failures[0].String(); !strings.HasPrefix(s, want) {
		t.Errorf("String() = %q, want prefix %q", s, want)
	}
}

func TestCheckFailsOffRequirementSetUnderItsOlderName(t *testing.T) {
	cfg := passing("amd64")
	cfg["CONFIG_X86_X32"] = "y"
	rep := Check(cfg, "amd64")
	if len(rep.Failures) != 1 || rep.Failures[0].Got != "CONFIG_X86_X32=y" {
		t.Errorf("got %v", rep)
	}
}

func TestRequirementListsAreWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Requirements() {
		key := string(r.List) + " " + r.Symbols[0]
		if seen[key] {
			t.Errorf("%s listed twice", key)
		}
		seen[key] = true
		for _, s := range r.Symbols {
			if !strings.HasPrefix(s, "CONFIG_") || !validName(strings.TrimPrefix(s, "CONFIG_")) {
				t.Errorf("bad symbol %q", s)
			}
		}
		for _, a := range r.Arches {
			if !arch.Known(a) {
				t.Errorf("%s: unknown arch %q", r.Name(), a)
			}
		}
		if r.Off && r.Module {
			t.Errorf("%s: both Off and Module", r.Name())
		}
		if r.Why == "" {
			t.Errorf("%s: no Why", r.Name())
		}
	}
}

func TestGuessArchFromArchSymbols(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{"CONFIG_X86_64": "y", "CONFIG_64BIT": "y"}, "amd64"},
		{Config{"CONFIG_ARM64": "y"}, "arm64"},
		{Config{"CONFIG_S390": "y"}, "s390x"},
		{Config{"CONFIG_X86_32": "y"}, ""},
	} {
		if got := GuessArch(tc.cfg); got != tc.want {
			t.Errorf("GuessArch(%v) = %q, want %q", tc.cfg, got, tc.want)
		}
	}
}

func TestCheckWantsAPanicThatRebootsAndAHarmlessSysRqMask(t *testing.T) {
	for _, tc := range []struct {
		sym, value string
		ok         bool
	}{
		{"CONFIG_PANIC_TIMEOUT", "10", true},
		{"CONFIG_PANIC_TIMEOUT", "-1", true},
		{"CONFIG_PANIC_TIMEOUT", "0", false},
		{"CONFIG_PANIC_TIMEOUT", "", false},
		{"CONFIG_MAGIC_SYSRQ_DEFAULT_ENABLE", "0xb0", true},
		{"CONFIG_MAGIC_SYSRQ_DEFAULT_ENABLE", "", true}, // no SysRq at all
		{"CONFIG_MAGIC_SYSRQ_DEFAULT_ENABLE", "0x1", false},
		{"CONFIG_MAGIC_SYSRQ_DEFAULT_ENABLE", "0x1f6", false}, // Debian's: signals and dumps
		{"CONFIG_MAGIC_SYSRQ_DEFAULT_ENABLE", "0xf0", false},
	} {
		cfg := passing("amd64")
		delete(cfg, tc.sym)
		if tc.value != "" {
			cfg[tc.sym] = tc.value
		}
		rep := Check(cfg, "amd64")
		if got := rep.OK(); got != tc.ok {
			t.Errorf("%s=%q: ok %v, want %v:\n%s", tc.sym, tc.value, got, tc.ok, rep)
		}
	}
}
