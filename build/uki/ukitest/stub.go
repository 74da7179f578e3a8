// Package ukitest makes stand-ins for systemd-stub in tests: minimal PE32+ EFI programs.
package ukitest

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
)

// Stub is a minimal PE32+ EFI application: one .text section, the given alignments, and
// room in its headers for extra section headers.
func Stub(sectionAlign, fileAlign uint32, headerRoom int) []byte {
	const peOff = 0x80
	optSize := 112 + 16*8
	sizeOfHeaders := alignUp(uint64(peOff+4+20+optSize+40+headerRoom), uint64(fileAlign))
	text := bytes.Repeat([]byte{0xc3}, 100)
	b := make([]byte, int(sizeOfHeaders)+int(alignUp(uint64(len(text)), uint64(fileAlign))))
	b[0], b[1] = 'M', 'Z'
	binary.LittleEndian.PutUint32(b[0x3c:], peOff)
	copy(b[peOff:], "PE\x00\x00")
	coff := peOff + 4
	binary.LittleEndian.PutUint16(b[coff:], pe.IMAGE_FILE_MACHINE_AMD64)
	binary.LittleEndian.PutUint16(b[coff+2:], 1)
	binary.LittleEndian.PutUint16(b[coff+16:], uint16(optSize))
	binary.LittleEndian.PutUint16(b[coff+18:], 0x206)
	opt := coff + 20
	binary.LittleEndian.PutUint16(b[opt:], 0x20b)
	textVA := uint32(alignUp(sizeOfHeaders, uint64(sectionAlign)))
	binary.LittleEndian.PutUint32(b[opt+16:], textVA) // AddressOfEntryPoint
	binary.LittleEndian.PutUint32(b[opt+32:], sectionAlign)
	binary.LittleEndian.PutUint32(b[opt+36:], fileAlign)
	binary.LittleEndian.PutUint32(b[opt+56:], uint32(alignUp(uint64(textVA)+uint64(len(text)), uint64(sectionAlign))))
	binary.LittleEndian.PutUint32(b[opt+60:], uint32(sizeOfHeaders))
	binary.LittleEndian.PutUint16(b[opt+68:], 10) // Subsystem: EFI application
	binary.LittleEndian.PutUint32(b[opt+108:], 16)
	s := opt + optSize
	copy(b[s:], ".text")
	binary.LittleEndian.PutUint32(b[s+8:], uint32(len(text)))
	binary.LittleEndian.PutUint32(b[s+12:], textVA)
	binary.LittleEndian.PutUint32(b[s+16:], uint32(alignUp(uint64(len(text)), uint64(fileAlign))))
	binary.LittleEndian.PutUint32(b[s+20:], uint32(sizeOfHeaders))
	binary.LittleEndian.PutUint32(b[s+36:], 0x60000020)
	copy(b[sizeOfHeaders:], text)
	return b
}

func alignUp(n, align uint64) uint64 { return (n + align - 1) &^ (align - 1) }
