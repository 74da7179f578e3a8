package ocispec

import (
	"errors"
	"fmt"

	"github.com/keel-os/keel/build/spec"
	"github.com/keel-os/keel/bundle"
)

// keelConfig is the "keel" object of runtime.json from the Keel-only keys: each key set
// in the YAML replaces the label's (backoff field by field); nil when none is set. Label
// keys that do not apply to kind are ignored (spec.Parse rejects them in the YAML): the
// services-only restart, backoff, wait and emergency, and the onboot/onshutdown-only
// essential and timeout.
func keelConfig(y, l *spec.ImageConfig, kind Kind) (*bundle.Keel, error) {
	label := *l
	if kind != "" && kind != Service {
		label.Restart, label.Backoff, label.Wait, label.Emergency = nil, nil, nil, nil
	}
	if kind != "" && kind != Onboot && kind != Onshutdown {
		label.Essential, label.Timeout = nil, nil
	}
	l = &label

	k := &bundle.Keel{
		Restart:   pick(y.Restart, l.Restart, ""),
		After:     nonEmpty(pick(y.After, l.After, nil)),
		Wait:      pick(y.Wait, l.Wait, ""),
		Emergency: pick(y.Emergency, l.Emergency, false),
		Console:   pick(y.Console, l.Console, false),
		Essential: pick(y.Essential, l.Essential, false),
		Timeout:   pick(y.Timeout, l.Timeout, ""),
	}
	yb, lb := deref(y.Backoff), deref(l.Backoff)
	b := bundle.Backoff{
		Initial: firstNonEmpty(yb.Initial, lb.Initial),
		Max:     firstNonEmpty(yb.Max, lb.Max),
		Reset:   firstNonEmpty(yb.Reset, lb.Reset),
	}
	if b != (bundle.Backoff{}) {
		// Each layer was checked on its own; the mix of both may still be inverted.
		if b.Initial != "" && b.Max != "" {
			initial, err1 := spec.ParseDuration(b.Initial)
			maxDelay, err2 := spec.ParseDuration(b.Max)
			if err := errors.Join(err1, err2); err != nil {
				return nil, fmt.Errorf("backoff: %w", err)
			}
			if initial > maxDelay {
				return nil, fmt.Errorf("backoff: initial delay %s is longer than max %s (YAML over label)", b.Initial, b.Max)
			}
		}
		k.Backoff = &b
	}
	if k.Restart == "" && k.Backoff == nil && k.After == nil && k.Wait == "" &&
		!k.Emergency && !k.Console && !k.Essential && k.Timeout == "" {
		return nil, nil
	}
	return k, nil
}
