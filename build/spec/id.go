package spec

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ID is a uid or gid as written in the YAML: a number, or a name. A name is "root" (0)
// or the name of a container of the configuration, which stands for the id LinuxKit
// allocates that container (see Config.IDs). A numeric string ("100") is a number.
type ID struct {
	Num  uint32
	Name string // set for a named id
}

// NumericID returns the ID for n.
func NumericID(n uint32) ID { return ID{Num: n} }

// NamedID returns the ID for a name.
func NamedID(name string) ID { return ID{Name: name} }

// String is the number or the name.
func (id ID) String() string {
	if id.Name != "" {
		return id.Name
	}
	return strconv.FormatUint(uint64(id.Num), 10)
}

// Resolve returns the numeric id: the number, 0 for "root", or ids[name].
func (id ID) Resolve(ids map[string]uint32) (uint32, error) {
	switch {
	case id.Name == "":
		return id.Num, nil
	case id.Name == "root":
		return 0, nil
	}
	n, ok := ids[id.Name]
	if !ok {
		return 0, fmt.Errorf("unknown id %q: neither a number, \"root\" nor a container name", id.Name)
	}
	return n, nil
}

// parseID interprets the text of a uid or gid: digits are a number, anything else must
// be a name (a container name or "root").
func parseID(s string) (ID, error) {
	if s != "" && strings.Trim(s, "0123456789") == "" {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return ID{}, fmt.Errorf("invalid uid/gid %s: expected a number below 2^32 or a name", s)
		}
		return NumericID(uint32(n)), nil
	}
	if !nameRE.MatchString(s) {
		return ID{}, fmt.Errorf("invalid uid/gid %q: expected a non-negative number or a name", s)
	}
	return NamedID(s), nil
}

// UnmarshalYAML accepts an integer or a string.
func (id *ID) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a number or a name, got %s", describeNode(n))
	}
	switch n.ShortTag() {
	case "!!int":
		var u uint32
		if err := n.Decode(&u); err != nil {
			return fmt.Errorf("invalid uid/gid %s: expected a number between 0 and 2^32-1 or a name", n.Value)
		}
		*id = NumericID(u)
		return nil
	case "!!str":
		v, err := parseID(n.Value)
		if err != nil {
			return err
		}
		*id = v
		return nil
	default:
		return fmt.Errorf("expected a number or a name, got %s", describeNode(n))
	}
}

// MarshalYAML writes a number or a string.
func (id ID) MarshalYAML() (any, error) {
	if id.Name != "" {
		return id.Name, nil
	}
	return id.Num, nil
}

// MarshalJSON writes a number or a string.
func (id ID) MarshalJSON() ([]byte, error) {
	if id.Name != "" {
		return json.Marshal(id.Name)
	}
	return json.Marshal(id.Num)
}

// UnmarshalJSON accepts a number or a string.
func (id *ID) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		var n uint32
		if err := json.Unmarshal(data, &n); err != nil {
			return fmt.Errorf("uid/gid: expected a number or a name, got %s", data)
		}
		*id = NumericID(n)
		return nil
	}
	v, err := parseID(s)
	if err != nil {
		return err
	}
	*id = v
	return nil
}
