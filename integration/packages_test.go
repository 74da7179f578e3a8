package integration

import (
	"slices"
	"testing"
)

// TestEveryPackageBuildsForEveryArch builds each of Keel's packages for arm64 and s390x as
// well (amd64's are built for every test by TestMain): Debian's cross compilers, libraries
// and packages for those arches included. Boot tests on those arches cover only what
// differs by arch; this is where a package that does not build there shows.
func TestEveryPackageBuildsForEveryArch(t *testing.T) {
	needGuest(t)
	for _, arch := range []string{"arm64", "s390x"} {
		t.Run(arch, func(t *testing.T) {
			needArch(t, arch) // the example's packages, shared with the boot tests
			var rest []string
			for _, p := range packages {
				if !slices.Contains(exampleOnly, p) {
					rest = append(rest, p)
				}
			}
			if err := buildArch(arch, rest); err != nil {
				t.Fatal(err)
			}
		})
	}
}
