package spec

// merge adds src, a later file, to dst as `linuxkit build a.yml b.yml` does:
//   - kernel: each field src sets (a non-empty string, a non-nil tar or ucode) replaces
//     dst's; Kernel.Pos follows the image;
//   - strict: true if any file sets it;
//   - init, onboot, onshutdown, services, files, volumes and trust lists: appended.
//
// Uniqueness of names is checked on the result (see validateConfig).
func merge(dst, src *Config) {
	k := &dst.Kernel
	if src.Kernel.Image != "" {
		k.Image = src.Kernel.Image
		k.Pos = src.Kernel.Pos
	}
	if src.Kernel.Cmdline != "" {
		k.Cmdline = src.Kernel.Cmdline
	}
	if src.Kernel.Binary != "" {
		k.Binary = src.Kernel.Binary
	}
	if src.Kernel.Tar != nil {
		k.Tar = src.Kernel.Tar
	}
	if src.Kernel.UCode != nil {
		k.UCode = src.Kernel.UCode
	}
	if !k.Pos.IsValid() {
		k.Pos = src.Kernel.Pos
	}
	dst.Strict = dst.Strict || src.Strict
	dst.Init = append(dst.Init, src.Init...)
	dst.Onboot = append(dst.Onboot, src.Onboot...)
	dst.Onshutdown = append(dst.Onshutdown, src.Onshutdown...)
	dst.Services = append(dst.Services, src.Services...)
	dst.Files = append(dst.Files, src.Files...)
	dst.Volumes = append(dst.Volumes, src.Volumes...)
	if src.Trust != nil {
		if dst.Trust == nil {
			dst.Trust = &Trust{}
		}
		dst.Trust.Image = append(dst.Trust.Image, src.Trust.Image...)
		dst.Trust.Org = append(dst.Trust.Org, src.Trust.Org...)
	}
}
