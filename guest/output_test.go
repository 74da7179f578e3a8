package guest

import "testing"

// The names are what keel build wrote before this package held them; scripts and hosts of
// older and newer Keel versions depend on them.
func TestOutputFileNamesAreAppendedToTheImageName(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{KernelFile("out/keel"), "out/keel-kernel"},
		{InitrdFile("out/keel"), "out/keel-initrd.img"},
		{CmdlineFile("out/keel"), "out/keel-cmdline"},
		{TarFile("out/keel"), "out/keel.tar"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
