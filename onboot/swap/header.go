package main

import (
	"encoding/binary"
	"fmt"
)

// The swap header (version 1, as mkswap writes it) fills the first page of the swap area:
// the first 1 KiB stays free for boot loaders, then version, last page, bad page count,
// UUID and label, and the magic ends the page. Numbers are in the machine's byte order.
const (
	swapInfoOffset = 1024
	swapMagic      = "SWAPSPACE2"
	swapLabelLen   = 16
)

// header returns the first page of a swap area of size bytes, for pageSize-byte pages.
func header(size int64, pageSize int, uuid [16]byte, label string) ([]byte, error) {
	pages := size / int64(pageSize)
	switch {
	case pages < 10:
		return nil, fmt.Errorf("swap of %d bytes: want at least 10 pages of %d bytes", size, pageSize)
	case pages-1 > 0xFFFFFFFF:
		return nil, fmt.Errorf("swap of %d bytes is too large", size)
	case len(label) > swapLabelLen:
		return nil, fmt.Errorf("swap label %q: at most %d bytes", label, swapLabelLen)
	}
	b := make([]byte, pageSize)
	o := binary.NativeEndian
	o.PutUint32(b[swapInfoOffset:], 1)                 // version
	o.PutUint32(b[swapInfoOffset+4:], uint32(pages-1)) // last_page
	o.PutUint32(b[swapInfoOffset+8:], 0)               // nr_badpages
	copy(b[swapInfoOffset+12:], uuid[:])               // sws_uuid
	copy(b[swapInfoOffset+28:], label)                 // sws_volume
	copy(b[pageSize-len(swapMagic):], swapMagic)
	return b, nil
}
