package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Source is one configuration file: its name, used in error positions, and its text.
type Source struct {
	Name string
	Data []byte
}

// Parse parses and merges configuration files in order (see the package documentation
// for the merge rules). On failure the error is an ErrorList naming every problem with
// its file and line.
func Parse(sources ...Source) (*Config, error) {
	merged := &Config{}
	var errs ErrorList
	var names []string
	for _, src := range sources {
		names = append(names, src.Name)
		// A file with errors is still merged, as far as it decoded, so that problems
		// across files (duplicate names) are reported in the same run.
		var cfg Config
		errs = append(errs, decodeDocument(src.Name, src.Data, &cfg, "")...)
		merge(merged, &cfg)
	}
	errs = append(errs, validateConfig(merged)...)
	if len(errs) > 0 {
		errs.sortByPos(names)
		return nil, errs
	}
	return merged, nil
}

// ParseFile reads, parses and merges the named files (see Parse).
func ParseFile(paths ...string) (*Config, error) {
	sources := make([]Source, len(paths))
	for i, p := range paths {
		data, err := readFile(p)
		if err != nil {
			return nil, fmt.Errorf("read configuration: %w", err)
		}
		sources[i] = Source{Name: p, Data: data}
	}
	return Parse(sources...)
}

// ParseLabel parses the JSON (or YAML) of an org.mobyproject.config image label. name
// identifies the label in errors, e.g. `image "linuxkit/getty:v1" label`; lines are
// given only for a label of several lines. The label may not contain name, image or
// after (the Keel-only key naming other services).
func ParseLabel(name string, data []byte) (*ImageConfig, error) {
	var ic ImageConfig
	errs := decodeDocument(name, data, &ic, "an image label")
	if ic.After != nil {
		// A label cannot know the services of the image description it is used in, and
		// the ordering must be checked before images are pulled (see validateConfig).
		errs = append(errs, &Error{Pos: Pos{File: name}, Field: "after", Err: errors.New("not allowed in an image label: after names services of the image description, so set it in the YAML")})
	}
	if !bytes.ContainsRune(bytes.TrimSpace(data), '\n') {
		for _, e := range errs {
			e.Pos.Line = 0 // "line 1" of a one-line label says nothing
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &ic, nil
}

// DecodeStrict decodes the single YAML document in data into out, a pointer, with the rules
// of this package's decoder: unknown, repeated and wrongly typed keys are errors, a field
// named Pos of type Pos gets the position of its mapping, one named KeyPos of type
// map[string]Pos those of its keys, and `required:"true"` keys must be present. Fields
// typed any take any YAML with string keys. The error, if any, is an ErrorList of every
// problem, each at file:line, in line order.
func DecodeStrict(file string, data []byte, out any) error {
	errs := decodeDocument(file, data, out, "")
	if len(errs) == 0 {
		return nil
	}
	errs.sortByPos([]string{file})
	return errs
}

// decodeDocument decodes the single YAML document in data into out. A document larger than
// MaxFileSize, or whose aliases expand past MaxAliasNodes, is refused before decoding;
// noAlias, when set, names what the document is to refuse any anchor or alias in it.
func decodeDocument(name string, data []byte, out any, noAlias string) ErrorList {
	if len(data) > MaxFileSize {
		return ErrorList{{Pos: Pos{File: name}, Err: errFileTooLarge}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file
		}
		return ErrorList{syntaxError(name, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := 0
		if err == nil {
			line = extra.Line
		}
		return ErrorList{{Pos: Pos{File: name, Line: line}, Err: errors.New("only one YAML document is allowed per file")}}
	}
	if len(doc.Content) == 0 {
		return nil
	}
	if err := checkAliases(name, doc.Content[0], noAlias); err != nil {
		return ErrorList{err}
	}
	d := &decoder{file: name}
	d.decode(doc.Content[0], reflect.ValueOf(out).Elem(), "", "")
	return d.errs
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlParserProblems are the problems yaml.v3's parser (as opposed to its scanner) reports.
// It numbers their lines from 0, so "line N" is line N+1: the start of the mapping or list
// being parsed, or the line of the problem itself.
var yamlParserProblems = map[string]bool{
	"did not find expected key":              true,
	"did not find expected '-' indicator":    true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected node content":     true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"found undefined tag handle":             true,
	"found duplicate %YAML directive":        true,
	"found duplicate %TAG directive":         true,
	"found incompatible YAML document":       true,
}

// syntaxError turns a yaml.v3 parse error into an Error at its line.
func syntaxError(name string, err error) *Error {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		if yamlParserProblems[m[2]] {
			line++
		}
		return &Error{Pos: Pos{File: name, Line: line}, Err: fmt.Errorf("invalid YAML: %s", m[2])}
	}
	return &Error{Pos: Pos{File: name}, Err: fmt.Errorf("invalid YAML: %w", err)}
}
