package main

import (
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/pkg/identifiers"
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
