package image

import (
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestTextProgressUpdatesOneLinePerBlobAndEndsIt(t *testing.T) {
	var b strings.Builder
	fn := TextProgress(&b)
	h := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}
	for _, n := range []int64{0, 1, 2, 1 << 20, 2 << 20} {
		fn(Progress{Ref: "r", Digest: h, Complete: n, Total: 2 << 20})
	}
	out := b.String()
	// 0%, 50%, 100%: the 1- and 2-byte updates do not change the percentage.
	if got := strings.Count(out, "\r"); got != 3 {
		t.Errorf("%d redraws in %q", got, out)
	}
	if !strings.HasSuffix(out, "r: abababababab 2.0 MiB / 2.0 MiB (100%)\x1b[K\n") {
		t.Errorf("last line %q", out)
	}
}
