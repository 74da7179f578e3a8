//go:build !unix

package image

// lockFile is a no-op where flock(2) is not available.
func lockFile(path string, exclusive bool) (func(), error) {
	return func() {}, nil
}
