package spec

import (
	"fmt"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/keel-os/keel/bundle"
)

// checks are the value checks a struct field names with `check:"name"`. Each gets one
// decoded value (one element for a list) and says what is wrong with it.
var checks = map[string]func(v reflect.Value) error{
	"abs-path": func(v reflect.Value) error {
		if !path.IsAbs(v.String()) {
			return fmt.Errorf("%q is not an absolute path", v.String())
		}
		return nil
	},
	"abs-path-or-empty": func(v reflect.Value) error {
		if s := v.String(); s != "" && !path.IsAbs(s) {
			return fmt.Errorf("%q is not an absolute path", s)
		}
		return nil
	},
	"bind": func(v reflect.Value) error {
		_, err := ParseBind(v.String())
		return err
	},
	"capability": func(v reflect.Value) error {
		if IsAllOrNone(v.String()) {
			return nil
		}
		_, err := NormalizeCapability(v.String())
		return err
	},
	"duration": func(v reflect.Value) error {
		_, err := ParseDuration(v.String())
		return err
	},
	"env": func(v reflect.Value) error {
		if name, _, ok := strings.Cut(v.String(), "="); !ok || name == "" {
			return fmt.Errorf("invalid environment entry %q: expected NAME=value", v.String())
		}
		return nil
	},
	"interface": func(v reflect.Value) error {
		i := v.Interface().(bundle.Interface)
		switch {
		case i.Name == "":
			return fmt.Errorf("interface has no name")
		case i.Peer != "" && i.Add != "" && i.Add != "veth":
			return fmt.Errorf("interface %q: peer is only for veth interfaces, not %q", i.Name, i.Add)
		}
		return nil
	},
	"metadata": func(v reflect.Value) error {
		if s := v.String(); s != "yaml" && s != "json" {
			return fmt.Errorf("invalid metadata %q: expected \"yaml\" or \"json\"", s)
		}
		return nil
	},
	"mode": func(v reflect.Value) error {
		_, err := ParseMode(v.String())
		return err
	},
	"mount": func(v reflect.Value) error {
		_, err := NormalizeMount(v.Interface().(specs.Mount))
		return err
	},
	"name": func(v reflect.Value) error {
		if s := v.String(); len(s) > 76 || !nameRE.MatchString(s) {
			return fmt.Errorf("invalid name %q: use letters, digits and single '.', '_' or '-' between them (at most 76 characters)", s)
		}
		return nil
	},
	"namespace": func(v reflect.Value) error {
		return CheckNamespace("", v.String())
	},
	"net-namespace": func(v reflect.Value) error {
		return CheckNamespace("net", v.String())
	},
	"oom-score-adj": func(v reflect.Value) error {
		if i := v.Int(); i < -1000 || i > 1000 {
			return fmt.Errorf("oomScoreAdj %d is not between -1000 and 1000", i)
		}
		return nil
	},
	"platform": func(v reflect.Value) error {
		parts := strings.Split(v.String(), "/")
		if len(parts) < 2 || len(parts) > 3 || slices.Contains(parts, "") {
			return fmt.Errorf("invalid platform %q: expected os/arch[/variant], e.g. linux/arm64", v.String())
		}
		return nil
	},
	"propagation": func(v reflect.Value) error {
		if s := v.String(); s != "" && !slices.Contains(propagations, s) {
			return fmt.Errorf("invalid rootfsPropagation %q: expected one of %s", s, strings.Join(propagations, ", "))
		}
		return nil
	},
	"ref": func(v reflect.Value) error {
		s := v.String()
		if r, ok := v.Interface().(Ref); ok {
			s = r.Image
		}
		if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' }) {
			return fmt.Errorf("invalid image reference %q", s)
		}
		return nil
	},
	"restart": func(v reflect.Value) error {
		if s := v.String(); !slices.Contains(restartPolicies, s) {
			return fmt.Errorf("invalid restart policy %q: expected %s", s, quotedList(restartPolicies))
		}
		return nil
	},
	"rlimit": func(v reflect.Value) error {
		_, err := ParseRlimit(v.String())
		return err
	},
	"runtime-mount": func(v reflect.Value) error {
		if m := v.Interface().(specs.Mount); m.Destination == "" {
			return fmt.Errorf("runtime mount of %q has no destination", m.Source)
		}
		return nil
	},
	// runtime-path is a runtime.json path: absolute on the machine, or relative to the
	// container's rootfs, as in LinuxKit.
	"runtime-path": func(v reflect.Value) error {
		if s := v.String(); s == "" || s == "." {
			return fmt.Errorf("empty path: expected an absolute path or one relative to the container's root")
		}
		return nil
	},
	"seccomp": func(v reflect.Value) error {
		if s := v.String(); s != SeccompDefault && s != SeccompUnconfined {
			return fmt.Errorf("invalid seccomp %q: expected %q or %q", s, SeccompDefault, SeccompUnconfined)
		}
		return nil
	},
	"tmpfs": func(v reflect.Value) error {
		_, err := ParseTmpfs(v.String())
		return err
	},
	"wait": func(v reflect.Value) error {
		if s := v.String(); s != bundle.WaitNetwork {
			return fmt.Errorf("invalid wait %q: expected %q", s, bundle.WaitNetwork)
		}
		return nil
	},
	"volume-format": func(v reflect.Value) error {
		if s := v.String(); s != "" && s != "oci" && s != "filesystem" {
			return fmt.Errorf("invalid volume format %q: expected \"oci\" or \"filesystem\"", s)
		}
		return nil
	},
	"volume-name": func(v reflect.Value) error {
		if !volumeNameRE.MatchString(v.String()) {
			return fmt.Errorf("invalid volume name %q: use lower-case letters, digits, '_' and '-'", v.String())
		}
		return nil
	},
}

// Values of seccomp.
const (
	SeccompDefault    = "default"
	SeccompUnconfined = "unconfined"
)

// restartPolicies are the values of restart.
var restartPolicies = []string{bundle.RestartAlways, bundle.RestartOnFailure, bundle.RestartNever}

// quotedList is `"a", "b" or "c"`.
func quotedList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = strconv.Quote(v)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
