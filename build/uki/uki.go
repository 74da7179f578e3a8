// Package uki builds Unified Kernel Images: systemd-stub, a PE/COFF EFI program, with the
// kernel, initramfs, command line and os-release added as PE sections (.linux, .initrd,
// .cmdline, .osrel, .uname), laid out as systemd's ukify lays them out: after the stub's own
// sections, each at the next virtual address aligned to the stub's SectionAlignment, its
// file data appended at the end of the stub aligned to its FileAlignment, SizeOfImage and the
// PE checksum updated. Any UEFI firmware starts the result; a signing tool can sign it.
//
// The PE writer is Keel's own (a few header fields; debug/pe reads the result in the tests):
// the Go modules that write PE files are little-kept forks of debug/pe made for binary
// injection, and ukify's Python is not installed on a build host.
package uki

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Section names the UKI specification gives the parts.
const (
	SectionOSRel   = ".osrel"
	SectionCmdline = ".cmdline"
	SectionUname   = ".uname"
	SectionInitrd  = ".initrd"
	SectionLinux   = ".linux"
)

// Section is one section to add.
type Section struct {
	Name string // at most 8 bytes
	Data []byte
}

// Inputs are the parts of a UKI.
type Inputs struct {
	Stub      []byte // systemd-stub (linuxx64.efi.stub, linuxaa64.efi.stub)
	Kernel    []byte // the kernel's EFI-stub image (bzImage, arm64 Image)
	Initrd    []byte // the initramfs, microcode first if any
	Cmdline   string
	OSRelease string // os-release(5) text
	Uname     string // the kernel's release (uname -r); "" leaves .uname out
}

// Build returns the UKI for in: sections in ukify's order, .linux last.
func Build(in Inputs) ([]byte, error) {
	if len(in.Kernel) == 0 {
		return nil, errors.New("uki: no kernel")
	}
	secs := []Section{
		{SectionOSRel, []byte(in.OSRelease)},
		{SectionCmdline, []byte(strings.TrimSpace(in.Cmdline))},
	}
	if in.Uname != "" {
		secs = append(secs, Section{SectionUname, []byte(in.Uname)})
	}
	if len(in.Initrd) > 0 {
		secs = append(secs, Section{SectionInitrd, in.Initrd})
	}
	secs = append(secs, Section{SectionLinux, in.Kernel})
	return AddSections(in.Stub, secs)
}

// PE/COFF layout (Microsoft's PE format specification).
const (
	peSignatureOffset = 0x3c // DOS header: file offset of "PE\0\0"
	coffHeaderSize    = 20
	sectionHeaderSize = 40
	magicPE32Plus     = 0x20b
	dirSecurity       = 4 // data directory index of the certificate table

	// Offsets in the PE32+ optional header.
	optSectionAlignment = 32
	optFileAlignment    = 36
	optSizeOfImage      = 56
	optSizeOfHeaders    = 60
	optCheckSum         = 64
	optNumberOfRva      = 108
	optDataDirectories  = 112

	// IMAGE_SCN_CNT_INITIALIZED_DATA | IMAGE_SCN_MEM_READ: what ukify gives its sections.
	dataSection = 0x00000040 | 0x40000000
)

// AddSections returns stub with secs added after its own sections. stub must be an unsigned
// PE32+ image with room in its headers for the new section headers.
func AddSections(stub []byte, secs []Section) ([]byte, error) {
	h, err := parseHeaders(stub)
	if err != nil {
		return nil, fmt.Errorf("uki: stub: %w", err)
	}
	for _, s := range secs {
		if len(s.Name) == 0 || len(s.Name) > 8 {
			return nil, fmt.Errorf("uki: section name %q: want 1 to 8 bytes", s.Name)
		}
		if _, ok := h.names[s.Name]; ok {
			return nil, fmt.Errorf("uki: the stub already has a section %s", s.Name)
		}
		h.names[s.Name] = struct{}{}
	}
	tableEnd := h.sectionTable + (h.nsections+len(secs))*sectionHeaderSize
	if tableEnd > int(h.sizeOfHeaders) || tableEnd > int(h.firstRaw) {
		return nil, fmt.Errorf("uki: stub: no room in its %d bytes of headers for %d more section headers", h.sizeOfHeaders, len(secs))
	}

	out := bytes.NewBuffer(make([]byte, 0, len(stub)+totalSize(secs, h.fileAlign)+int(h.fileAlign)))
	out.Write(stub)
	va := alignUp(h.imageEnd, h.sectionAlign)
	headers := make([]byte, 0, len(secs)*sectionHeaderSize)
	for _, s := range secs {
		pad(out, h.fileAlign)
		raw := alignUp(uint64(len(s.Data)), uint64(h.fileAlign))
		if uint64(out.Len())+raw > 1<<32-1 || va+uint64(len(s.Data)) > 1<<32-1 {
			return nil, fmt.Errorf("uki: section %s (%d bytes) takes the image past 4 GiB", s.Name, len(s.Data))
		}
		var sh [sectionHeaderSize]byte
		copy(sh[0:8], s.Name)
		binary.LittleEndian.PutUint32(sh[8:], uint32(len(s.Data))) // VirtualSize
		binary.LittleEndian.PutUint32(sh[12:], uint32(va))         // VirtualAddress
		binary.LittleEndian.PutUint32(sh[16:], uint32(raw))        // SizeOfRawData
		binary.LittleEndian.PutUint32(sh[20:], uint32(out.Len()))  // PointerToRawData
		binary.LittleEndian.PutUint32(sh[36:], dataSection)        // Characteristics
		headers = append(headers, sh[:]...)
		out.Write(s.Data)
		pad(out, h.fileAlign)
		va = alignUp(va+uint64(len(s.Data)), h.sectionAlign)
	}
	b := out.Bytes()
	copy(b[h.sectionTable+h.nsections*sectionHeaderSize:], headers)
	binary.LittleEndian.PutUint16(b[h.coff+2:], uint16(h.nsections+len(secs)))
	binary.LittleEndian.PutUint32(b[h.opt+optSizeOfImage:], uint32(va))
	binary.LittleEndian.PutUint32(b[h.opt+optCheckSum:], checksum(b, h.opt+optCheckSum))
	return b, nil
}

// headers are the fields of a PE file AddSections reads.
type headers struct {
	coff, opt, sectionTable, nsections int
	sectionAlign                       uint64
	fileAlign                          uint32
	sizeOfHeaders                      uint32
	firstRaw                           uint32 // lowest PointerToRawData of a section with data
	imageEnd                           uint64 // SizeOfImage, or the end of the last section if beyond
	names                              map[string]struct{}
}

func parseHeaders(b []byte) (headers, error) {
	var h headers
	if len(b) < 0x40 || b[0] != 'M' || b[1] != 'Z' {
		return h, errors.New("not a PE file: no MZ header")
	}
	peOff := int(binary.LittleEndian.Uint32(b[peSignatureOffset:]))
	if peOff < 0x40 || peOff+4+coffHeaderSize > len(b) || !bytes.Equal(b[peOff:peOff+4], []byte("PE\x00\x00")) {
		return h, errors.New("not a PE file: no PE signature")
	}
	h.coff = peOff + 4
	h.nsections = int(binary.LittleEndian.Uint16(b[h.coff+2:]))
	optSize := int(binary.LittleEndian.Uint16(b[h.coff+16:]))
	h.opt = h.coff + coffHeaderSize
	h.sectionTable = h.opt + optSize
	if optSize < optDataDirectories || h.sectionTable+h.nsections*sectionHeaderSize > len(b) {
		return h, errors.New("truncated headers")
	}
	if m := binary.LittleEndian.Uint16(b[h.opt:]); m != magicPE32Plus {
		return h, fmt.Errorf("optional header magic %#x: want PE32+ (%#x)", m, magicPE32Plus)
	}
	h.sectionAlign = uint64(binary.LittleEndian.Uint32(b[h.opt+optSectionAlignment:]))
	h.fileAlign = binary.LittleEndian.Uint32(b[h.opt+optFileAlignment:])
	if !powerOfTwo(h.sectionAlign) || !powerOfTwo(uint64(h.fileAlign)) {
		return h, fmt.Errorf("alignments %#x, %#x: not powers of two", h.sectionAlign, h.fileAlign)
	}
	h.sizeOfHeaders = binary.LittleEndian.Uint32(b[h.opt+optSizeOfHeaders:])
	h.imageEnd = uint64(binary.LittleEndian.Uint32(b[h.opt+optSizeOfImage:]))
	nrva := int(binary.LittleEndian.Uint32(b[h.opt+optNumberOfRva:]))
	if nrva > dirSecurity {
		d := h.opt + optDataDirectories + dirSecurity*8
		if d+8 <= h.sectionTable && binary.LittleEndian.Uint64(b[d:]) != 0 {
			return h, errors.New("it is signed: adding sections would break its signature (sign the UKI instead)")
		}
	}
	h.firstRaw = uint32(len(b))
	h.names = map[string]struct{}{}
	for i := range h.nsections {
		s := b[h.sectionTable+i*sectionHeaderSize:]
		h.names[string(bytes.TrimRight(s[:8], "\x00"))] = struct{}{}
		vsize := uint64(binary.LittleEndian.Uint32(s[8:]))
		va := uint64(binary.LittleEndian.Uint32(s[12:]))
		rawSize := binary.LittleEndian.Uint32(s[16:])
		raw := binary.LittleEndian.Uint32(s[20:])
		h.imageEnd = max(h.imageEnd, va+max(vsize, uint64(rawSize)))
		if rawSize > 0 && raw > 0 {
			h.firstRaw = min(h.firstRaw, raw)
		}
	}
	return h, nil
}

// checksum is the PE image checksum: the 16-bit ones'-complement-style sum of the file
// without its CheckSum field, plus the file's length.
func checksum(b []byte, skip int) uint32 {
	var sum uint64
	for i := 0; i+1 < len(b); i += 2 {
		if i == skip || i == skip+2 {
			continue
		}
		sum += uint64(binary.LittleEndian.Uint16(b[i:]))
		sum = (sum & 0xffff) + (sum >> 16)
	}
	if len(b)%2 == 1 {
		sum += uint64(b[len(b)-1])
		sum = (sum & 0xffff) + (sum >> 16)
	}
	sum = (sum & 0xffff) + (sum >> 16)
	return uint32(sum) + uint32(len(b))
}

func totalSize(secs []Section, align uint32) int {
	n := 0
	for _, s := range secs {
		n += int(alignUp(uint64(len(s.Data)), uint64(align)))
	}
	return n
}

func pad(b *bytes.Buffer, align uint32) {
	if r := b.Len() % int(align); r != 0 {
		b.Write(make([]byte, int(align)-r))
	}
}

func alignUp(n, align uint64) uint64 { return (n + align - 1) &^ (align - 1) }

func powerOfTwo(n uint64) bool { return n != 0 && n&(n-1) == 0 }

// Sections reads back the sections of a PE file by name (for tests and `keel` checks): each
// one's first VirtualSize bytes, its content without padding.
func Sections(b []byte) (map[string][]byte, error) {
	f, err := pe.NewFile(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string][]byte{}
	for _, s := range f.Sections {
		data, err := s.Data()
		if err != nil {
			return nil, fmt.Errorf("section %s: %w", s.Name, err)
		}
		if uint32(len(data)) > s.VirtualSize {
			data = data[:s.VirtualSize]
		}
		out[s.Name] = data
	}
	return out, nil
}

// StubPackage is the Debian package that holds systemd-stub.
const StubPackage = "systemd-boot-efi"

// StubPath is where StubPackage keeps systemd-stub for the UEFI architecture whose
// removable-media boot file is bootFile (arch.Arch.UEFIBoot: BOOTX64.EFI gives
// usr/lib/systemd/boot/efi/linuxx64.efi.stub).
func StubPath(bootFile string) (string, error) {
	suffix, ok := strings.CutPrefix(strings.ToUpper(bootFile), "BOOT")
	suffix, ok2 := strings.CutSuffix(suffix, ".EFI")
	if !ok || !ok2 || suffix == "" {
		return "", fmt.Errorf("uki: no systemd-stub for boot file %q", bootFile)
	}
	return "usr/lib/systemd/boot/efi/linux" + strings.ToLower(suffix) + ".efi.stub", nil
}
