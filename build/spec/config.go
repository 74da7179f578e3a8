package spec

// Config is a whole image description, one file or several merged (see Parse).
type Config struct {
	Kernel     Kernel   `yaml:"kernel,omitempty" json:"kernel,omitzero"`
	Init       []Ref    `yaml:"init,omitempty" json:"init,omitempty" check:"ref"`
	Onboot     []Image  `yaml:"onboot,omitempty" json:"onboot,omitempty" section:"onboot"`
	Onshutdown []Image  `yaml:"onshutdown,omitempty" json:"onshutdown,omitempty" section:"onshutdown"`
	Services   []Image  `yaml:"services,omitempty" json:"services,omitempty" section:"services"`
	Files      []File   `yaml:"files,omitempty" json:"files,omitempty"`
	Volumes    []Volume `yaml:"volumes,omitempty" json:"volumes,omitempty"`
	// Strict (Keel-only) refuses host privileges that only an image label grants
	// (build/ocispec.Options.Strict); true in any merged file makes the whole description strict.
	Strict bool `yaml:"strict,omitempty" json:"strict,omitempty"`
	// Trust is accepted so that older LinuxKit files parse; Keel ignores it.
	Trust *Trust `yaml:"trust,omitempty" json:"trust,omitempty"`
}

// Kernel is the kernel section. Files are merged field by field (see Parse).
type Kernel struct {
	// Image holds the kernel (file "kernel" or Binary) and its modules tarball.
	Image   string `yaml:"image,omitempty" json:"image,omitempty" check:"ref"`
	Cmdline string `yaml:"cmdline,omitempty" json:"cmdline,omitempty"`
	// Binary is the name of the kernel file in the image (LinuxKit default "kernel").
	Binary string `yaml:"binary,omitempty" json:"binary,omitempty"`
	// Tar is the modules tarball in the image: nil means "kernel.tar", "" or "none" none.
	Tar *string `yaml:"tar,omitempty" json:"tar,omitempty"`
	// UCode is a CPU microcode cpio in the image to prepend to the initrd.
	UCode *string `yaml:"ucode,omitempty" json:"ucode,omitempty"`

	// Pos is where the kernel section that set Image is.
	Pos Pos `yaml:"-" json:"-"`
}

// IsZero reports whether no kernel field is set (Pos aside).
func (k Kernel) IsZero() bool {
	return k.Image == "" && k.Cmdline == "" && k.Binary == "" && k.Tar == nil && k.UCode == nil
}

// File is an entry of the files section: a file, directory or symlink added to the root
// filesystem. Exactly one of Directory, Symlink, Contents, Source and Metadata says what it
// is.
type File struct {
	Path      string `yaml:"path" json:"path" required:"true"`
	Directory bool   `yaml:"directory,omitempty" json:"directory,omitempty"`
	Symlink   string `yaml:"symlink,omitempty" json:"symlink,omitempty"`
	// Contents is the file's text; a pointer so that an empty file can be asked for.
	Contents *string `yaml:"contents,omitempty" json:"contents,omitempty"`
	// Source is a file on the build host ("~/" is the user's home directory).
	Source string `yaml:"source,omitempty" json:"source,omitempty"`
	// Metadata is "yaml" or "json": the file holds the resolved configuration.
	Metadata string `yaml:"metadata,omitempty" json:"metadata,omitempty" check:"metadata"`
	// Optional skips a Source that does not exist instead of failing.
	Optional bool `yaml:"optional,omitempty" json:"optional,omitempty"`
	// Mode is octal, e.g. "0644"; LinuxKit's default is 0600 (0700 for directories).
	Mode string `yaml:"mode,omitempty" json:"mode,omitempty" check:"mode"`
	UID  *ID    `yaml:"uid,omitempty" json:"uid,omitempty"`
	GID  *ID    `yaml:"gid,omitempty" json:"gid,omitempty"`

	Pos Pos `yaml:"-" json:"-"`
}

// Volume is an entry of the volumes section: a named directory, optionally filled from an
// image, that containers can bind by name ("binds: [myvol:/data]").
type Volume struct {
	Name     string `yaml:"name" json:"name" check:"volume-name" required:"true"`
	Image    string `yaml:"image,omitempty" json:"image,omitempty" check:"ref"`
	ReadOnly bool   `yaml:"readonly,omitempty" json:"readonly,omitempty"`
	// Format is how an image volume is laid out: "oci" (an OCI layout of the image) or
	// "filesystem" (its root filesystem, the default).
	Format string `yaml:"format,omitempty" json:"format,omitempty" check:"volume-format"`
	// Platforms are the os/arch[/variant] of an "oci" volume's images; a "filesystem"
	// volume ignores them.
	Platforms []string `yaml:"platforms,omitempty" json:"platforms,omitempty" check:"platform"`

	Pos Pos `yaml:"-" json:"-"`
}

// Values of Volume.Format.
const (
	VolumeFormatFilesystem = "filesystem"
	VolumeFormatOCI        = "oci"
)

// Trust is LinuxKit's obsolete content-trust section.
type Trust struct {
	Image []string `yaml:"image,omitempty" json:"image,omitempty"`
	Org   []string `yaml:"org,omitempty" json:"org,omitempty"`
}

// Section names, as used in the YAML and in bundle paths.
const (
	SectionOnboot     = "onboot"
	SectionOnshutdown = "onshutdown"
	SectionServices   = "services"
)

// IDs allocates each container a uid/gid, as LinuxKit does: 100, 101, ... in the order
// onboot, onshutdown, services. A uid, gid or additionalGids entry naming a container
// resolves to its id (see ID.Resolve); if a name is used twice (onboot names may
// repeat, and a name may be in two sections) the later wins, as in LinuxKit.
func (c *Config) IDs() map[string]uint32 {
	ids := map[string]uint32{}
	next := uint32(100)
	for _, sec := range [][]Image{c.Onboot, c.Onshutdown, c.Services} {
		for _, img := range sec {
			ids[img.Name] = next
			next++
		}
	}
	return ids
}

// Volume returns the volume called name, or nil.
func (c *Config) Volume(name string) *Volume {
	for i := range c.Volumes {
		if c.Volumes[i].Name == name {
			return &c.Volumes[i]
		}
	}
	return nil
}
