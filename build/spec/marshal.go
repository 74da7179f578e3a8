package spec

import (
	"encoding/json"
	"fmt"

	"gopkg.in/yaml.v3"
)

// MarshalYAML writes the configuration in its YAML form, with the keys of the input and
// nothing unset, so that yaml.Marshal(cfg) is what a `metadata: yaml` file holds and
// parses back to the same configuration (positions aside).
func (c Config) MarshalYAML() (any, error) {
	data, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("marshal configuration: %w", err)
	}
	// JSON is YAML: reading it back as nodes keeps the field order; dropping the JSON
	// quoting and flow styles gives ordinary block YAML.
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("marshal configuration: %w", err)
	}
	root := doc.Content[0]
	plainStyle(root)
	return root, nil
}

func plainStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		plainStyle(c)
	}
}
