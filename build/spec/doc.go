// Package spec is the schema of a Keel image description: LinuxKit's YAML format (kernel,
// init, onboot, onshutdown, services, files, volumes and the per-image OCI options), plus
// the same per-image options as found in an image's org.mobyproject.config label.
//
// Parsing goes through yaml.v3 nodes so that every problem is reported with the file and
// line it comes from, as "a.yml:12: services[1] \"getty\": readonly: expected a boolean".
// All problems in all files are reported at once (see ErrorList).
//
// # Adding a key
//
// Decoding is driven by the struct definitions: a new per-image key is one field in
// ImageConfig with yaml and json tags, and, when its values need checking, a `check:"..."`
// tag naming an entry of the checks table (check.go) or a line in the type's validate
// method (validate.go). Unknown keys, wrong types, duplicate keys and error positions are
// handled generically by the decoder (decode.go). A key that only some sections allow
// has a `sections:"onboot,onshutdown"` tag; the Keel-only keys (restart, backoff, after,
// wait, emergency, console, essential, timeout; docs/yaml.md) are declared this way.
//
// # Unset versus empty
//
// Per-image options are pointers: nil means "not set here", so a default from the image
// label applies; a pointer to an empty value ("binds: []") means "set to empty" and clears
// the label's default. build/ocispec applies these rules.
//
// # Several files
//
// Parse merges files the way `linuxkit build a.yml b.yml` does: kernel fields set in a
// later file replace earlier ones field by field; init, onboot, onshutdown, services,
// files and volumes are appended in file order. Names must be unique within each of
// onboot, onshutdown and services, and volume names must be unique, across all files;
// the services named by after must exist in the merged configuration, without cycles.
//
// # Package references
//
// An image reference "@pkg:DIR" (PkgPrefix) names a package directory, relative to the file
// it is written in; Parse keeps it as written and Config.ResolvePackages replaces it by the
// package's image (build/pkg.ResolveRefs).
package spec
