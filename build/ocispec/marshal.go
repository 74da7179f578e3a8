package ocispec

import (
	"encoding/json"
	"fmt"
)

// Marshal encodes a config.json (*specs.Spec) or runtime.json (bundle.Runtime) the way
// bundles hold them: indented JSON with a final newline. Struct fields keep their
// order and map keys are sorted, so equal values give equal bytes.
func Marshal(v any) ([]byte, error) {
	data, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return nil, fmt.Errorf("marshal bundle file: %w", err)
	}
	return append(data, '\n'), nil
}
