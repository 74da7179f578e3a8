package ocispec

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// imageUser resolves the image config's USER ("user", "uid", "user:group", "uid:gid" and
// the mixes) as container runtimes do: numbers are taken as they are; names are looked
// up in the image's /etc/passwd and /etc/group. Without a group the gid is the user's
// primary group from /etc/passwd, or 0 for a uid that has no entry.
func (c *converter) imageUser(user string) (uid, gid uint32, err error) {
	name, group, hasGroup := strings.Cut(user, ":")
	fail := func(format string, args ...any) (uint32, uint32, error) {
		return 0, 0, fmt.Errorf("image %q USER %q: %s", c.ref, user, fmt.Sprintf(format, args...))
	}
	entry, found, err := c.lookup("etc/passwd", name, numeric(name))
	if err != nil {
		return fail("%v", err)
	}
	switch {
	case found:
		if uid, err = parseID(entry[2]); err != nil {
			return fail("/etc/passwd: user %s: uid: %v", name, err)
		}
		if gid, err = parseID(entry[3]); err != nil {
			return fail("/etc/passwd: user %s: gid: %v", name, err)
		}
	case numeric(name):
		uid, _ = parseID(name)
	default:
		return fail("no user %q in the image's /etc/passwd", name)
	}
	if !hasGroup {
		return uid, gid, nil
	}
	entry, found, err = c.lookup("etc/group", group, numeric(group))
	if err != nil {
		return fail("%v", err)
	}
	switch {
	case found:
		if gid, err = parseID(entry[2]); err != nil {
			return fail("/etc/group: group %s: gid: %v", group, err)
		}
	case numeric(group):
		gid, _ = parseID(group)
	default:
		return fail("no group %q in the image's /etc/group", group)
	}
	return uid, gid, nil
}

// lookup finds the line of file (passwd or group) whose name, or with byID whose id, is
// key, split at colons. A missing file, or no ReadFile, is an error only for a name.
func (c *converter) lookup(file, key string, byID bool) (fields []string, found bool, err error) {
	if c.opts.ReadFile == nil {
		if byID {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("the image's /%s is not at hand to resolve %q; set uid and gid in the YAML", file, key)
	}
	data, err := c.opts.ReadFile(file)
	if err != nil {
		if byID {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("resolve %q: %w", key, err)
	}
	col := 0
	if byID {
		col = 2
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) >= 4 && f[col] == key {
			return f, true, nil
		}
	}
	return nil, false, nil
}

func numeric(s string) bool {
	_, err := parseID(s)
	return err == nil
}

func parseID(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err
}
