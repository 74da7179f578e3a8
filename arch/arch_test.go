package arch

import (
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestEveryArchHasEveryFieldItNeeds(t *testing.T) {
	for _, a := range All() {
		for field, v := range map[string]string{
			"Name": a.Name, "KernelArch": a.KernelArch, "Triple": a.Triple,
			"ImageTarget": a.ImageTarget, "ImagePath": a.ImagePath, "Kconfig": a.Kconfig,
			"QEMU": a.QEMU, "Machine": a.Machine, "KVMMachine": a.KVMMachine,
			"Console": a.Console, "Bus": a.Bus,
		} {
			if v == "" {
				t.Errorf("%s: no %s", a.Name, field)
			}
		}
		if !strings.HasPrefix(a.ImagePath, "arch/") || !strings.HasSuffix(a.ImagePath, "/"+a.ImageTarget) {
			t.Errorf("%s: image path %q is not arch/.../%s", a.Name, a.ImagePath, a.ImageTarget)
		}
		if !strings.HasSuffix(a.Triple, "-linux-gnu") {
			t.Errorf("%s: triple %q is not Debian's *-linux-gnu", a.Name, a.Triple)
		}
		if !strings.HasPrefix(a.QEMU, "qemu-system-") {
			t.Errorf("%s: qemu %q", a.Name, a.QEMU)
		}
		if !strings.HasPrefix(a.Kconfig, "CONFIG_") {
			t.Errorf("%s: kconfig %q", a.Name, a.Kconfig)
		}
		if a.Bus != "pci" && a.Bus != "ccw" {
			t.Errorf("%s: bus %q: want pci or ccw", a.Name, a.Bus)
		}
		if (a.UEFI == "") != (a.UEFIBoot == "") {
			t.Errorf("%s: UEFI firmware %q but boot file %q", a.Name, a.UEFI, a.UEFIBoot)
		}
		if a.UEFIBoot != "" && (!strings.HasPrefix(a.UEFIBoot, "BOOT") || !strings.HasSuffix(a.UEFIBoot, ".EFI")) {
			t.Errorf("%s: UEFI boot file %q: want BOOT*.EFI", a.Name, a.UEFIBoot)
		}
	}
}

func TestNamesAreUniqueAndCoverTheKeelArches(t *testing.T) {
	if got := strings.Join(Names(), " "); got != "amd64 arm64 s390x" {
		t.Errorf("Names() = %s", got)
	}
	for _, field := range []func(Arch) string{
		func(a Arch) string { return a.KernelArch },
		func(a Arch) string { return a.Triple },
		func(a Arch) string { return a.Kconfig },
		func(a Arch) string { return a.QEMU },
	} {
		seen := map[string]bool{}
		for _, a := range All() {
			if seen[field(a)] {
				t.Errorf("%q shared by two arches", field(a))
			}
			seen[field(a)] = true
		}
	}
}

func TestLookupFindsEachArch(t *testing.T) {
	for _, name := range Names() {
		a, err := Lookup(name)
		if err != nil || a.Name != name {
			t.Errorf("Lookup(%s) = %+v, %v", name, a, err)
		}
		if !Known(name) {
			t.Errorf("Known(%s) = false", name)
		}
	}
}

func TestLookupOfAnUnknownArchNamesItAndTheKnownOnes(t *testing.T) {
	for _, name := range []string{"mips", "", "x86_64", "AMD64"} {
		_, err := Lookup(name)
		if err == nil {
			t.Fatalf("Lookup(%q): no error", name)
		}
		for _, want := range []string{`"` + name + `"`, "amd64, arm64, s390x"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Lookup(%q) error %q lacks %s", name, err, want)
			}
		}
		if Known(name) {
			t.Errorf("Known(%q) = true", name)
		}
	}
}

func TestCrossCompileIsEmptyOnlyForTheHostArch(t *testing.T) {
	for _, a := range All() {
		native := runtime.GOOS == "linux" && runtime.GOARCH == a.Name
		want, cc := a.Triple+"-", a.Triple+"-gcc"
		if native {
			want, cc = "", "gcc"
		}
		if got := a.CrossCompile(); got != want {
			t.Errorf("%s: CrossCompile() = %q, want %q", a.Name, got, want)
		}
		if got := a.CC(); got != cc {
			t.Errorf("%s: CC() = %q, want %q", a.Name, got, cc)
		}
		if a.Native() != native {
			t.Errorf("%s: Native() = %v", a.Name, a.Native())
		}
	}
}

func TestAllReturnsCopiesACallerCannotChangeTheTableThrough(t *testing.T) {
	all := All()
	all[0].QEMU = "changed"
	all[0].KVMFlags[0] = "changed"
	a, _ := Lookup(all[0].Name)
	if a.QEMU == "changed" || slices.Contains(a.KVMFlags, "changed") {
		t.Errorf("the table changed through All(): %+v", a)
	}
}

func TestCanonicalMapsAliasesInAnyCaseToTheName(t *testing.T) {
	for in, want := range map[string]string{
		"amd64": "amd64", "x86_64": "amd64", "X86_64": "amd64", "x86-64": "amd64",
		"aarch64": "arm64", "ARM64": "arm64", "s390x": "s390x", "MIPS": "mips",
	} {
		if got := Canonical(in); got != want {
			t.Errorf("Canonical(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAliasesAreLowerCaseAndNameNoOtherArch(t *testing.T) {
	seen := map[string]string{}
	for _, a := range All() {
		seen[a.Name] = a.Name
	}
	for _, a := range All() {
		for _, alias := range a.Aliases {
			if alias != strings.ToLower(alias) {
				t.Errorf("%s: alias %q is not lower case", a.Name, alias)
			}
			if other, ok := seen[alias]; ok {
				t.Errorf("%s: alias %q is also %s", a.Name, alias, other)
			}
			seen[alias] = a.Name
		}
	}
}

func TestOnlyAMD64MachinesHaveAPCBIOS(t *testing.T) {
	for _, a := range All() {
		if a.PCBIOS != (a.Name == "amd64") {
			t.Errorf("%s: PCBIOS %v", a.Name, a.PCBIOS)
		}
	}
}
