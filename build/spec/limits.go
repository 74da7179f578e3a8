package spec

import (
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"
)

// Limits on what a configuration file may make the decoder do, so that a small hostile file
// (a "billion laughs" of nested aliases) cannot exhaust memory or time.
const (
	// MaxFileSize is the largest YAML file, or image label, that is decoded. Configurations
	// are a few kilobytes; yaml.v3 allocates some 200 bytes per byte of a dense flow list.
	MaxFileSize = 1 << 20
	// MaxAliasNodes is how many nodes a document may reach through aliases, each alias
	// counting the whole expanded value it stands for.
	MaxAliasNodes = 100_000
)

// readFile reads the file at p, refusing one larger than MaxFileSize without reading it all.
func readFile(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: %w", p, errFileTooLarge)
	}
	return data, nil
}

var errFileTooLarge = fmt.Errorf("larger than the limit of %d bytes (%d MiB)", MaxFileSize, MaxFileSize>>20)

// aliasChecker measures how far a document's aliases expand it. Expanded sizes are
// memoized per anchored node, so the check is linear in the document's own size.
type aliasChecker struct {
	file     string
	noAlias  string // when set, anchors and aliases are refused: says where
	total    int64  // nodes reached through aliases so far
	sizes    map[*yaml.Node]int64
	visiting map[*yaml.Node]bool
}

// checkAliases walks the document's own nodes in order and returns an error at the first
// alias that makes the nodes reached through aliases exceed MaxAliasNodes, or that refers
// to a value containing itself. noAlias, if set, refuses any anchor or alias.
func checkAliases(file string, root *yaml.Node, noAlias string) *Error {
	c := &aliasChecker{file: file, noAlias: noAlias, sizes: map[*yaml.Node]int64{}, visiting: map[*yaml.Node]bool{}}
	return c.walk(root)
}

func (c *aliasChecker) walk(n *yaml.Node) *Error {
	if c.noAlias != "" && (n.Kind == yaml.AliasNode || n.Anchor != "") {
		what := "anchor &" + n.Anchor
		if n.Kind == yaml.AliasNode {
			what = "alias *" + n.Value
		}
		return &Error{Pos: Pos{File: c.file, Line: n.Line}, Err: fmt.Errorf("%s: anchors and aliases are not allowed in %s", what, c.noAlias)}
	}
	if n.Kind == yaml.AliasNode {
		size, err := c.expanded(n)
		if err != nil {
			return err
		}
		c.total += size
		if c.total > MaxAliasNodes {
			return &Error{Pos: Pos{File: c.file, Line: n.Line}, Err: fmt.Errorf("alias *%s: aliases expand the document to more than %d nodes", n.Value, MaxAliasNodes)}
		}
		return nil
	}
	for _, ch := range n.Content {
		if err := c.walk(ch); err != nil {
			return err
		}
	}
	return nil
}

// expanded is the number of nodes n stands for once every alias in it is replaced by its
// value, capped just above MaxAliasNodes so that it cannot overflow.
func (c *aliasChecker) expanded(n *yaml.Node) (int64, *Error) {
	alias := n
	for n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return 0, &Error{Pos: Pos{File: c.file, Line: alias.Line}, Err: fmt.Errorf("alias *%s: unknown anchor", alias.Value)}
		}
		n = n.Alias
	}
	if size, ok := c.sizes[n]; ok {
		return size, nil
	}
	if c.visiting[n] {
		return 0, &Error{Pos: Pos{File: c.file, Line: alias.Line}, Err: fmt.Errorf("alias *%s: refers to a value containing itself", alias.Value)}
	}
	c.visiting[n] = true
	defer delete(c.visiting, n)
	size := int64(1)
	for _, ch := range n.Content {
		s, err := c.expanded(ch)
		if err != nil {
			return 0, err
		}
		size = min(size+s, MaxAliasNodes+1)
	}
	c.sizes[n] = size
	return size, nil
}
