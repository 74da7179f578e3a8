package guest

import "testing"

// The lines are what PID 1 printed before this package held them; hosts of older and newer
// Keel versions depend on them.
func TestConsoleLinesKeepTheirText(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{Line(PowerOff), "keel: power off"},
		{Line(Reboot), "keel: reboot"},
		{Line(Halt), "keel: halt"},
		{Line(BootComplete), "keel: boot complete"},
		{Line(Timeline), "keel: timeline "},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
