package kernelconfig

import (
	"fmt"
	"strings"
)

// Failure is a requirement a config does not meet.
type Failure struct {
	Requirement
	// Got is what the config has: the value or Absent, or, for a requirement with several
	// names, SYMBOL=value for each name the config has.
	Got string
}

// String is one line: the list, the symbol, what was wanted and what was found, and why it
// matters.
//
//	container: CONFIG_VETH: want y or m, got absent (veth pairs into container network namespaces)
func (f Failure) String() string {
	s := fmt.Sprintf("%s: %s: want %s, got %s", f.List, f.Name(), f.Want(), f.Got)
	if f.Why != "" {
		s += " (" + f.Why + ")"
	}
	return s
}

// Report is the result of Check.
type Report struct {
	Arch     string
	Checked  int // requirements that apply to Arch
	Failures []Failure
}

// OK reports whether every requirement was met.
func (r Report) OK() bool { return len(r.Failures) == 0 }

// String is a summary line followed by one line per failure.
func (r Report) String() string {
	if r.OK() {
		return fmt.Sprintf("kernel config %s: all %d container and hardening requirements met", r.Arch, r.Checked)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "kernel config %s: %d of %d requirements not met:", r.Arch, len(r.Failures), r.Checked)
	for _, f := range r.Failures {
		b.WriteString("\n")
		b.WriteString(f.String())
	}
	return b.String()
}

// Check checks cfg against the Container and Hardening lists for arch (amd64, arm64 or
// s390x; requirements for other architectures are skipped).
func Check(cfg Config, arch string) Report {
	rep := Report{Arch: arch}
	for _, req := range Requirements() {
		if !req.AppliesTo(arch) {
			continue
		}
		rep.Checked++
		if got, ok := meets(cfg, req); !ok {
			rep.Failures = append(rep.Failures, Failure{Requirement: req, Got: got})
		}
	}
	return rep
}

// meets reports whether cfg meets req and, when it does not, what cfg has instead.
func meets(cfg Config, req Requirement) (got string, ok bool) {
	if req.Accept != nil {
		v, present := cfg[req.Symbols[0]]
		if req.Accept(v) {
			return "", true
		}
		if !present {
			return Absent, false
		}
		return v, false
	}
	on := func(v string) bool { return v == "y" || v == "m" }
	var found []string // SYMBOL=value for the names cfg has
	for _, sym := range req.Symbols {
		v, present := cfg[sym]
		switch {
		case !present:
			continue
		case req.Off && !on(v):
			continue
		case !req.Off && (v == "y" || v == "m" && req.Module):
			return "", true
		}
		if len(req.Symbols) == 1 {
			return v, false
		}
		found = append(found, sym+"="+v)
	}
	if req.Off && len(found) == 0 {
		return "", true
	}
	if len(found) == 0 {
		return Absent, false
	}
	return strings.Join(found, ", "), false
}
