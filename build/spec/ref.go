package spec

import (
	"encoding/json"
	"fmt"

	"gopkg.in/yaml.v3"
)

// Ref is an image reference of the init section, with where it was written.
type Ref struct {
	Image string
	Pos   Pos
}

// String is the reference.
func (r Ref) String() string { return r.Image }

// UnmarshalYAML accepts a string.
func (r *Ref) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return fmt.Errorf("expected an image reference, got %s", describeNode(n))
	}
	r.Image = n.Value
	return nil
}

// MarshalYAML writes the reference.
func (r Ref) MarshalYAML() (any, error) { return r.Image, nil }

// MarshalJSON writes the reference as a string.
func (r Ref) MarshalJSON() ([]byte, error) { return json.Marshal(r.Image) }

// UnmarshalJSON reads a string.
func (r *Ref) UnmarshalJSON(data []byte) error { return json.Unmarshal(data, &r.Image) }
