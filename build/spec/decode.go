package spec

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// decoder fills Go values from yaml.v3 nodes, driven by the struct definitions, and
// records every problem with its file and line instead of stopping at the first.
//
// Rules:
//   - struct fields are matched by their yaml tag, else their json tag; fields of types
//     without yaml tags (the OCI runtime-spec types) match ignoring case;
//   - anonymous struct fields and `yaml:",inline"` are inlined;
//   - unknown and repeated keys are errors, and so are missing `required:"true"` keys;
//   - a field of type Pos named Pos is set to the position of the mapping, and a field of
//     type map[string]Pos named KeyPos to the position of each key present;
//   - `section:"name"` on a field says that what is below it is that section's (onboot,
//     onshutdown, services); a key tagged `sections:"a,b"` is an error in any other
//     section (it is allowed where no section is known, as in an image label);
//   - `check:"name"` runs checks[name] on each decoded value (each element of a list or
//     map), at that value's line;
//   - a struct with a validate method is validated once it decoded cleanly;
//   - null leaves a non-pointer value zero, but is an error for a pointer (an "unset"
//     that looks set), with a hint to write [] or "" instead, and for a struct with
//     required keys (a list entry "- " without them);
//   - a string accepts any scalar's text ("mode: 0644" is "0644"); booleans and numbers
//     must be written as such;
//   - an interface (any) takes what yaml.v3 would give it, with string keys only.
type decoder struct {
	file    string
	section string // the section being decoded (see the section tag), or ""
	errs    ErrorList
}

// fail records a problem at node n.
func (d *decoder) fail(n *yaml.Node, field, format string, args ...any) {
	d.errs = append(d.errs, &Error{Pos: Pos{File: d.file, Line: n.Line}, Field: field, Err: fmt.Errorf(format, args...)})
}

// validator is implemented by types with checks across fields. Each problem names the
// key it is about ("" for the whole mapping).
type validator interface {
	validate() []fieldError
}

type fieldError struct {
	key string
	msg string
}

// decode fills v from n and reports whether it succeeded.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, field, check string) bool {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if v.CanAddr() {
		if u, ok := v.Addr().Interface().(yaml.Unmarshaler); ok {
			if err := u.UnmarshalYAML(n); err != nil {
				d.fail(n, field, "%v", err)
				return false
			}
			d.setPos(v, n)
			return d.check(n, v, field, check)
		}
	}
	if v.Kind() == reflect.Pointer {
		if isNull(n) {
			d.fail(n, field, "expected %s, got null%s", describeType(v.Type()), emptyHint(v.Type().Elem()))
			return false
		}
		e := reflect.New(v.Type().Elem())
		if !d.decode(n, e.Elem(), field, check) {
			return false
		}
		v.Set(e)
		return true
	}
	if isNull(n) {
		if v.Kind() == reflect.Struct && structInfoOf(v.Type()).hasRequired() {
			// An entry without its required keys ("services: [~]") is no entry.
			d.fail(n, field, "expected %s, got null", describeType(v.Type()))
			return false
		}
		return true
	}
	switch v.Kind() {
	case reflect.Struct:
		if !d.decodeStruct(n, v, field) {
			return false
		}
	case reflect.Slice:
		return d.decodeSlice(n, v, field, check)
	case reflect.Map:
		return d.decodeMap(n, v, field, check)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			return d.typeError(n, v, field)
		}
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			return d.typeError(n, v, field)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
			return d.typeError(n, v, field)
		}
		if v.OverflowInt(i) {
			d.fail(n, field, "%s is out of range for %s", n.Value, v.Type())
			return false
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var u uint64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&u) != nil {
			return d.typeError(n, v, field)
		}
		if v.OverflowUint(u) {
			d.fail(n, field, "%s is out of range for %s", n.Value, v.Type())
			return false
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		var f float64
		if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") || n.Decode(&f) != nil {
			return d.typeError(n, v, field)
		}
		v.SetFloat(f)
	case reflect.Interface:
		if v.NumMethod() > 0 {
			panic(fmt.Sprintf("spec: cannot decode into %s", v.Type()))
		}
		return d.decodeAny(n, v, field)
	default:
		panic(fmt.Sprintf("spec: cannot decode into %s", v.Type()))
	}
	return d.check(n, v, field, check)
}

// check runs the named check on a decoded value.
func (d *decoder) check(n *yaml.Node, v reflect.Value, field, check string) bool {
	if check == "" {
		return true
	}
	if err := checks[check](v); err != nil {
		d.fail(n, field, "%v", err)
		return false
	}
	return true
}

func (d *decoder) typeError(n *yaml.Node, v reflect.Value, field string) bool {
	d.fail(n, field, "expected %s, got %s", describeType(v.Type()), describeNode(n))
	return false
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, field, check string) bool {
	if n.Kind != yaml.SequenceNode {
		return d.typeError(n, v, field)
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	ok := true
	for i, en := range n.Content {
		if !d.decode(en, s.Index(i), elemField(field, i, en), check) {
			ok = false
		}
	}
	v.Set(s)
	return ok
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, field, check string) bool {
	if n.Kind != yaml.MappingNode {
		return d.typeError(n, v, field)
	}
	if v.Type().Key().Kind() != reflect.String {
		panic(fmt.Sprintf("spec: cannot decode into %s", v.Type()))
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := map[string]int{}
	ok := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		if kn.Kind != yaml.ScalarNode {
			d.fail(kn, field, "expected a string key, got %s", describeNode(kn))
			ok = false
			continue
		}
		if line, dup := seen[kn.Value]; dup {
			d.fail(kn, field, "key %q is set twice (first at line %d)", kn.Value, line)
			ok = false
			continue
		}
		seen[kn.Value] = kn.Line
		e := reflect.New(v.Type().Elem()).Elem()
		if !d.decode(vn, e, childField(field, kn.Value), check) {
			ok = false
			continue
		}
		m.SetMapIndex(reflect.ValueOf(kn.Value).Convert(v.Type().Key()), e)
	}
	v.Set(m)
	return ok
}

// decodeAny fills an interface value as yaml.v3 would (mappings are map[string]any, lists
// []any), but with the strict rules for keys.
func (d *decoder) decodeAny(n *yaml.Node, v reflect.Value, field string) bool {
	var x reflect.Value
	ok := true
	switch n.Kind {
	case yaml.MappingNode:
		x = reflect.New(reflect.TypeFor[map[string]any]()).Elem()
		ok = d.decodeMap(n, x, field, "")
	case yaml.SequenceNode:
		x = reflect.New(reflect.TypeFor[[]any]()).Elem()
		ok = d.decodeSlice(n, x, field, "")
	default:
		var s any
		if err := n.Decode(&s); err != nil {
			d.fail(n, field, "%v", err)
			return false
		}
		x = reflect.ValueOf(s)
	}
	if x.IsValid() {
		v.Set(x)
	}
	return ok
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, field string) bool {
	if n.Kind != yaml.MappingNode {
		return d.typeError(n, v, field)
	}
	si := structInfoOf(v.Type())
	seen := map[string]int{}
	present := map[string]*yaml.Node{}
	ok := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		if kn.Kind != yaml.ScalarNode {
			d.fail(kn, field, "expected a key, got %s", describeNode(kn))
			ok = false
			continue
		}
		key := kn.Value
		if line, dup := seen[key]; dup {
			d.fail(kn, field, "key %q is set twice (first at line %d)", key, line)
			ok = false
			continue
		}
		seen[key] = kn.Line
		f := si.lookup(key)
		if f == nil {
			d.fail(kn, field, "unknown key %q%s", key, suggest(key, si.keys()))
			ok = false
			continue
		}
		if prev, dup := present[f.key]; dup {
			d.fail(kn, field, "key %q is set twice (first at line %d, as %q)", key, prev.Line, prev.Value)
			ok = false
			continue
		}
		present[f.key] = kn
		if f.sections != nil && d.section != "" && !slices.Contains(f.sections, d.section) {
			d.fail(kn, childField(field, f.key), "only allowed in %s, not in %s", strings.Join(f.sections, " and "), d.section)
			ok = false
			continue
		}
		if f.required && isNull(vn) {
			d.fail(kn, childField(field, f.key), "required key has no value")
			ok = false
			continue
		}
		outer := d.section
		if f.section != "" {
			d.section = f.section
		}
		if !d.decode(vn, v.FieldByIndex(f.index), childField(field, f.key), f.check) {
			ok = false
		}
		d.section = outer
	}
	d.setPos(v, n)
	if si.keyPos != nil {
		keyPos := make(map[string]Pos, len(present))
		for key, kn := range present {
			keyPos[key] = Pos{File: d.file, Line: kn.Line}
		}
		v.FieldByIndex(si.keyPos).Set(reflect.ValueOf(keyPos))
	}
	for _, f := range si.fields {
		if f.required && present[f.key] == nil {
			d.fail(n, field, "missing required key %q", f.key)
			ok = false
		}
	}
	if !ok {
		return false
	}
	if val, isVal := v.Addr().Interface().(validator); isVal {
		for _, fe := range val.validate() {
			ok = false
			if kn := present[fe.key]; kn != nil {
				d.fail(kn, childField(field, fe.key), "%s", fe.msg)
			} else {
				d.fail(n, field, "%s", fe.msg)
			}
		}
	}
	return ok
}

// setPos records n's position in v's Pos field, if it has one.
func (d *decoder) setPos(v reflect.Value, n *yaml.Node) {
	if v.Kind() != reflect.Struct {
		return
	}
	if si := structInfoOf(v.Type()); si.pos != nil {
		v.FieldByIndex(si.pos).Set(reflect.ValueOf(Pos{File: d.file, Line: n.Line}))
	}
}

// childField is the path of key inside field.
func childField(field, key string) string {
	switch {
	case field == "":
		return key
	case strings.HasSuffix(field, `"`):
		return field + ": " + key
	default:
		return field + "." + key
	}
}

// elemField is the path of element i of the list field, named after the element's name
// or path key when it has one: `services[1] "getty"`.
func elemField(field string, i int, n *yaml.Node) string {
	s := field + "[" + strconv.Itoa(i) + "]"
	if n.Kind != yaml.MappingNode {
		return s
	}
	for _, key := range []string{"name", "path"} {
		for j := 0; j+1 < len(n.Content); j += 2 {
			if kn, vn := n.Content[j], n.Content[j+1]; kn.Value == key && vn.Kind == yaml.ScalarNode && vn.Value != "" {
				return s + " " + strconv.Quote(vn.Value)
			}
		}
	}
	return s
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describeNode says what was written, for "expected X, got Y".
func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!bool":
			return "boolean " + n.Value
		case "!!int":
			return "integer " + n.Value
		case "!!float":
			return "number " + n.Value
		default:
			return "string " + strconv.Quote(n.Value)
		}
	}
	return "something else"
}

// describeType says what was expected.
func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[ID]():
		return "a number or a name"
	case reflect.TypeFor[Ref]():
		return "an image reference"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean (true or false)"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list"
	default:
		return "a mapping"
	}
}

func emptyHint(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice:
		return " (write [] for an empty list, or remove the key)"
	case reflect.Map:
		return " (write {} for an empty mapping, or remove the key)"
	case reflect.String:
		return ` (write "" for an empty string, or remove the key)`
	default:
		return " (remove the key to leave it unset)"
	}
}

// structInfo is how a struct type's fields are keyed.
type structInfo struct {
	fields []fieldInfo
	pos    []int // index of the Pos field, nil if none
	keyPos []int // index of the KeyPos field, nil if none
}

type fieldInfo struct {
	key      string
	index    []int
	check    string
	required bool     // `required:"true"`: the key must be present
	fold     bool     // match the key ignoring case
	section  string   // `section:"x"`: the value is section x's
	sections []string // `sections:"a,b"`: the key is only allowed in sections a and b
}

var structInfos sync.Map // reflect.Type → *structInfo

func structInfoOf(t reflect.Type) *structInfo {
	if si, ok := structInfos.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{}
	si.add(t, nil)
	actual, _ := structInfos.LoadOrStore(t, si)
	return actual.(*structInfo)
}

func (si *structInfo) add(t reflect.Type, index []int) {
	for i := range t.NumField() {
		f := t.Field(i)
		idx := append(slices.Clip(index), i)
		if f.Name == "Pos" && f.Type == reflect.TypeFor[Pos]() {
			si.pos = idx
			continue
		}
		if f.Name == "KeyPos" && f.Type == reflect.TypeFor[map[string]Pos]() {
			si.keyPos = idx
			continue
		}
		tag, hasYAML := f.Tag.Lookup("yaml")
		if !hasYAML {
			tag = f.Tag.Get("json")
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Type.Kind() == reflect.Struct && name == "" && (f.Anonymous || strings.Contains(opts, "inline")) {
			si.add(f.Type, idx)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		check := f.Tag.Get("check")
		if _, ok := checks[check]; check != "" && !ok {
			panic(fmt.Sprintf("spec: field %s.%s: unknown check %q", t, f.Name, check))
		}
		fi := fieldInfo{key: name, index: idx, check: check, required: f.Tag.Get("required") == "true", fold: !hasYAML, section: f.Tag.Get("section")}
		if sections := f.Tag.Get("sections"); sections != "" {
			fi.sections = strings.Split(sections, ",")
		}
		si.fields = append(si.fields, fi)
	}
}

func (si *structInfo) lookup(key string) *fieldInfo {
	for i := range si.fields {
		if si.fields[i].key == key {
			return &si.fields[i]
		}
	}
	for i := range si.fields {
		if si.fields[i].fold && strings.EqualFold(si.fields[i].key, key) {
			return &si.fields[i]
		}
	}
	return nil
}

func (si *structInfo) hasRequired() bool {
	for _, f := range si.fields {
		if f.required {
			return true
		}
	}
	return false
}

func (si *structInfo) keys() []string {
	keys := make([]string, len(si.fields))
	for i, f := range si.fields {
		keys[i] = f.key
	}
	return keys
}
