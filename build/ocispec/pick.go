package ocispec

import (
	"maps"
	"slices"
)

// pick is the value in effect: the YAML's if set, else the label's, else def.
func pick[T any](yaml, label *T, def T) T {
	switch {
	case yaml != nil:
		return *yaml
	case label != nil:
		return *label
	}
	return def
}

// pickPtr is pick for values that stay optional.
func pickPtr[T any](yaml, label *T) *T {
	if yaml != nil {
		v := *yaml
		return &v
	}
	if label != nil {
		v := *label
		return &v
	}
	return nil
}

// addLists is a list with its .add: the label's list plus the label's additions, replaced
// by the YAML's list if set, plus the YAML's additions; without duplicates.
func addLists(label, labelAdd, yaml, yamlAdd *[]string) []string {
	var out []string
	if yaml != nil {
		out = append(out, *yaml...)
	} else {
		out = append(out, deref(label)...)
		out = append(out, deref(labelAdd)...)
	}
	out = append(out, deref(yamlAdd)...)
	var uniq []string
	for _, s := range out {
		if !slices.Contains(uniq, s) {
			uniq = append(uniq, s)
		}
	}
	return uniq
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// nonEmpty returns a copy of s, or nil if it is empty, so that empty lists are left out.
func nonEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

// nonEmptyMap returns a copy of m, or nil if it is empty.
func nonEmptyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}
