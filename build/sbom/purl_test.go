package sbom

import (
	"strings"
	"testing"

	"github.com/keel-os/keel/build/pkg"
)

func TestPackageURLsFollowThePurlSpec(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	for _, c := range []struct{ got, want string }{
		{golangPURL("github.com/Azure/go-ansiterm", "v0.0.0-20230124172434-306776ec8161"), "pkg:golang/github.com/azure/go-ansiterm@v0.0.0-20230124172434-306776ec8161"},
		{golangPURL("example.com/m", "v1.0.0+incompatible"), "pkg:golang/example.com/m@v1.0.0%2Bincompatible"},
		{golangPURL("example.com/m", ""), "pkg:golang/example.com/m"},
		{debPURL(pkg.Deb{Package: "libc6", Version: "2.36-9+deb12u4", Arch: "arm64"}), "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=arm64"},
		{ociPURL("alpine:3.20", d, "amd64"), "pkg:oci/alpine@" + d + "?arch=amd64&repository_url=index.docker.io/library/alpine&tag=3.20"},
		{ociPURL("ghcr.io/o/img@"+d, d, "arm64/v8"), "pkg:oci/img@" + d + "?arch=arm64/v8&repository_url=ghcr.io/o/img"},
		{ociPURL("oci-archive:dir/b.tar:v1", d, "s390x"), "pkg:oci/b@" + d + "?arch=s390x"},
		{ociPURL("docker-archive:/x/c.tar", d, ""), "pkg:oci/c@" + d},
		{ociPURL("Not A Ref:x@y", d, "amd64"), "pkg:oci/not%20a%20ref@" + d + "?arch=amd64"},
		{ociPURL("./layout", d, "amd64"), "pkg:oci/layout@" + d + "?arch=amd64"},
	} {
		if c.got != c.want {
			t.Errorf("got  %s\nwant %s", c.got, c.want)
		}
	}
}
