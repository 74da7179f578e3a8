// Package pkg builds a Keel package: an OCI image made from a directory holding a build.yml.
// It is the library behind `keel pkg build DIR [--arch amd64|arm64|s390x] [--push REF]`.
//
// The image has one layer holding the package's statically compiled Go binaries and its
// files, an image config whose architecture/os name the target, the label
// org.mobyproject.config carrying the package's LinuxKit runtime configuration as JSON and,
// when files come from Debian packages (deb:), the label org.keel.debs listing each package's
// name, version, arch and the image paths taken from it (keel build --sbom reads it back).
//
// # build.yml
//
// The file is strict YAML, decoded by build/spec's decoder: an unknown key, a duplicated key or
// a value of the wrong type is an error naming build.yml:LINE, and every such error is reported.
//
//	image: keel/getty            # repository, required
//	tag: v1                      # optional; Options.Tag wins; default "dev"
//	binaries:                    # Go main packages, compiled statically for the target arch
//	  - package: ./cmd/getty     # relative to the package dir (starts with "."), or an import
//	                             # path such as github.com/opencontainers/runc, resolved by the
//	                             # go.mod of Options.ModuleDir (default: the package dir's module)
//	    path: /usr/bin/getty     # absolute path in the image, required
//	    tags: [netgo, osusergo]  # go build -tags
//	    cgo: false               # true: CGO_ENABLED=1 with the target's C cross compiler,
//	                             # PKG_CONFIG_LIBDIR for its multiarch dir, -extldflags -static
//	    ldflags: "-s -w"         # go build -ldflags; default "-s -w"; "" for none
//	    gcflags: "all=-l"        # go build -gcflags; default none (all=-l: no inlining, a
//	                             # smaller binary that compresses better); a list gives the
//	                             # flag once per item, each for its own package pattern
//	    links: [/usr/bin/sh]     # extra hard links to the same binary
//	files:                       # exactly one of source, contents, directory, symlink each
//	  - path: /bin/busybox
//	    source: /bin/busybox     # host file or directory (absolute, or relative to the package
//	                             # dir); a directory is copied recursively
//	    mode: "0755"             # octal; default: the host file's permission bits
//	  - path: /usr/bin/busybox
//	    deb: busybox-static      # with source: the absolute path inside this Debian package
//	    source: /bin/busybox     # for the target arch (apt-get download, cached with its version;
//	                             # a package for every arch, Architecture: all, as NAME:all)
//	  - path: /etc/ssl/certs/ca-certificates.crt
//	    deb: ca-certificates     # (or a host directory without deb:)
//	    source: /usr/share/ca-certificates/mozilla
//	    concat: "*.crt"          # one file: the directory's regular files matching the pattern,
//	                             # in byte order of name, each ending in a newline; default 0644
//	  - path: /sbin/mke2fs       # a dynamically linked program: its loader (PT_INTERP) and the
//	    deb: e2fsprogs           # shared libraries it needs (DT_NEEDED, recursively) are taken
//	    source: /sbin/mke2fs     # from deb: and the libs: packages, at their paths there
//	    libs: [libext2fs2, libc6]
//	  - path: /etc/motd
//	    contents: "hello\n"      # default mode 0644
//	  - path: /sbin
//	    directory: true          # default mode 0755
//	  - path: /bin/sh
//	    symlink: busybox
//	config:                      # LinuxKit's per-image runtime keys, passed through as-is:
//	  binds: [/dev:/dev]         # JSON-encoded into the label org.mobyproject.config
//	  capabilities: [all]
//	entrypoint: [/usr/bin/getty] # image config Entrypoint
//	cmd: []                      # image config Cmd
//	env: [PATH=/usr/bin:/bin]    # image config Env (none by default)
//	workdir: /                   # image config WorkingDir
//	org: linuxkit                # LinuxKit's keys: org prefixes image (linuxkit/getty);
//	arches: [amd64, arm64]       # built in one run without --arch (arches Keel does not
//	                             # build are named and skipped), pushed as one index;
//	network: true                # accepted, no effect: no Dockerfile steps run;
//	dependents: [../other]       # accepted, no effect: Keel rebuilds no other package
//	                             # (buildArgs:, dockerfile: are refused: no Dockerfiles)
//
// A package directory with a Dockerfile and no binaries: or files: is refused: Keel runs no
// Dockerfiles, and an empty image would not be what the Dockerfile made.
//
// # Reproducibility
//
// Binaries are built with `go build -trimpath -buildvcs=false`, GOOS=linux, GOARCH=target and
// CGO_ENABLED=0 unless cgo is set. The layer is a rootfs/tree written by rootfs/tarout, so
// deterministically: parents before their entries, each directory's entries sorted by name,
// every parent directory present (mode 0755 unless a files: entry says otherwise), uid/gid 0,
// no user or group names, and every mtime (and the image's creation time) set to
// SOURCE_DATE_EPOCH (default 0, see tree.Epoch). Building the same inputs with the same Go
// toolchain twice gives the same image digest.
package pkg
