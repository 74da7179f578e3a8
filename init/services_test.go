package main

import (
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/pkg/identifiers"
	"github.com/keel-os/keel/bundle"
)

func TestLeaseIDIsAValidContainerdIdentifierUniquePerServiceAndMoment(t *testing.T) {
	now := time.Unix(1700000000, 123456789)
	long := strings.Repeat("a", 70) + "-b.c"
	seen := map[string]string{}
	for _, c := range []struct {
		name string
		at   time.Time
	}{
		{"getty", now},
		{"sshd", now},
		{"getty", now.Add(time.Nanosecond)},
		{long, now},
		{strings.Repeat("x", 76), now},
	} {
		id := leaseID(c.name, c.at)
		if err := identifiers.Validate(id); err != nil {
			t.Errorf("leaseID(%q) = %q: %v", c.name, id, err)
		}
		key := c.name + "@" + c.at.String()
		if prev, dup := seen[id]; dup {
			t.Errorf("leaseID gave %q for both %s and %s", id, prev, key)
		}
		seen[id] = key
	}
}

func TestServiceNamespacesNameEachOnceInOrderWithTheDefaultForUnnamed(t *testing.T) {
	in := func(ns string) *bundle.Bundle { return &bundle.Bundle{Runtime: bundle.Runtime{Namespace: ns}} }
	got := serviceNamespaces([]*bundle.Bundle{in(""), in("mine"), in(""), in("mine"), in("other")})
	want := []string{bundle.DefaultNamespace, "mine", "other"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %v, want %v", got, want)
	}
}
