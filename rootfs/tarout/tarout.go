// Package tarout writes a tree as a tar archive.
//
// The archive is a function of the tree alone: entries are written parents first in sorted
// order, without user or group names, access or change times, and with modification times
// clamped to $SOURCE_DATE_EPOCH (or the clamp given to WriteClamped) when set, so writing the
// same tree twice gives byte-identical archives. The first name of a hard-linked file carries
// its contents; the others are hard-link entries pointing at it.
package tarout

import (
	"archive/tar"
	"bufio"
	"fmt"
	"io"
	"time"

	"github.com/keel-os/keel/rootfs/tree"
)

// Write writes t to w as an uncompressed tar archive, clamping modification times to
// $SOURCE_DATE_EPOCH when it is set.
func Write(w io.Writer, t *tree.Tree) error {
	e, ok, err := tree.SourceDateEpoch()
	if err != nil {
		return err
	}
	if !ok {
		return WriteClamped(w, t, nil)
	}
	return WriteClamped(w, t, &e)
}

// WriteClamped writes t to w as an uncompressed tar archive. If clamp is not nil, later
// modification times are clamped to it.
func WriteClamped(w io.Writer, t *tree.Tree, clamp *time.Time) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	tw := tar.NewWriter(bw)
	first := map[*tree.Node]string{}
	err := t.Walk(func(p string, n *tree.Node) error {
		mtime := n.ModTime
		if clamp != nil && mtime.After(*clamp) {
			mtime = *clamp
		}
		if mtime.Before(time.Unix(0, 0)) {
			mtime = time.Unix(0, 0)
		}
		h := &tar.Header{
			Name:    p,
			Mode:    int64(n.UnixMode() &^ 0o170000),
			Uid:     n.UID,
			Gid:     n.GID,
			ModTime: mtime.Truncate(time.Second).UTC(),
			Format:  tar.FormatPAX,
		}
		var data []byte
		if target, ok := first[n]; ok && !n.IsDir() {
			h.Typeflag = tar.TypeLink
			h.Linkname = target
		} else {
			first[n] = p
			switch n.Type() {
			case tree.ModeDir:
				h.Typeflag = tar.TypeDir
				h.Name += "/"
			case tree.ModeSymlink:
				h.Typeflag = tar.TypeSymlink
				h.Linkname = n.Target
			case tree.ModeChar:
				h.Typeflag = tar.TypeChar
			case tree.ModeBlock:
				h.Typeflag = tar.TypeBlock
			case tree.ModeFifo:
				h.Typeflag = tar.TypeFifo
			default:
				h.Typeflag = tar.TypeReg
				h.Size = int64(len(n.Data))
				data = n.Data
			}
			if h.Typeflag == tar.TypeChar || h.Typeflag == tar.TypeBlock {
				h.Devmajor, h.Devminor = int64(n.Major), int64(n.Minor)
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("tar: %s: %w", p, err)
		}
		if _, err := tw.Write(data); err != nil {
			return fmt.Errorf("tar: %s: %w", p, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("tar: %w", err)
	}
	return bw.Flush()
}
