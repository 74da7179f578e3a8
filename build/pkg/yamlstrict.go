package pkg

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// posError is an error at a line of the file being decoded; decodeStrict adds the file name.
type posError struct {
	line int
	msg  string
}

func (e *posError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

func errAt(n *yaml.Node, format string, args ...any) error {
	return &posError{line: n.Line, msg: fmt.Sprintf(format, args...)}
}

var yamlLinePrefix = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// decodeStrict decodes node into out, refusing keys that out's struct types do not declare.
// Every error it returns names file:line.
func decodeStrict(file string, node *yaml.Node, out any) error {
	if err := checkKeys(node, reflect.TypeOf(out)); err != nil {
		return atFile(file, err)
	}
	if err := node.Decode(out); err != nil {
		return atFile(file, err)
	}
	return nil
}

// atFile rewrites yaml.v3's "line N: msg" errors (and posErrors) as "file:N: msg".
func atFile(file string, err error) error {
	var pe *posError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s:%d: %s", file, pe.line, pe.msg)
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, len(te.Errors))
		for i, m := range te.Errors {
			msgs[i] = yamlLinePrefix.ReplaceAllString(m, file+":$1: ")
		}
		return errors.New(strings.Join(msgs, "\n"))
	}
	msg := err.Error()
	if yamlLinePrefix.MatchString(msg) {
		return errors.New(yamlLinePrefix.ReplaceAllString(msg, file+":$1: "))
	}
	return fmt.Errorf("%s: %w", file, err)
}

// checkKeys walks node alongside type t and fails on the first mapping key that t's struct
// fields (by their yaml tag) do not declare. Maps and interfaces accept anything.
func checkKeys(node *yaml.Node, t reflect.Type) error {
	for node.Kind == yaml.DocumentNode && len(node.Content) == 1 {
		node = node.Content[0]
	}
	if node.Kind == yaml.AliasNode && node.Alias != nil {
		node = node.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Struct && node.Kind == yaml.MappingNode:
		fields := yamlFields(t)
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, v := node.Content[i], node.Content[i+1]
			f, ok := fields[k.Value]
			if !ok {
				return errAt(k, "unknown key %q (known keys: %s)", k.Value, knownKeys(fields))
			}
			if err := checkKeys(v, f.Type); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Slice && node.Kind == yaml.SequenceNode:
		for _, v := range node.Content {
			if err := checkKeys(v, t.Elem()); err != nil {
				return err
			}
		}
	}
	return nil
}

func yamlFields(t reflect.Type) map[string]reflect.StructField {
	fields := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f
	}
	return fields
}

func knownKeys(fields map[string]reflect.StructField) string {
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
