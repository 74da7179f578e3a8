package bench

import "testing"

func TestParseStatReadsACommandNameWithSpacesAndParentheses(t *testing.T) {
	pid, comm, ppid, ok := parseStat("1234 (qemu-system-x86 (x)) S 99 1234 1234 0 -1")
	if !ok || pid != 1234 || comm != "qemu-system-x86 (x)" || ppid != 99 {
		t.Errorf("parseStat = %d %q %d %v", pid, comm, ppid, ok)
	}
	if _, _, _, ok := parseStat("garbage"); ok {
		t.Error("parseStat accepted garbage")
	}
}
