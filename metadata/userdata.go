package main

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// configPath is where the tree lands in the machine; cloud-config write_files paths must
// be under it.
const configPath = "/run/config"

// fileOp is one directory or file that user data asks for, relative to /run/config.
type fileOp struct {
	name string
	dir  bool
	data []byte
	perm fs.FileMode
}

// userConfig is what user data asks for beyond its raw copy in /run/config/userdata.
type userConfig struct {
	format   string // "json", "cloud-config" or "" (kept only as the raw copy)
	hostname string
	sshKeys  []string
	ops      []fileOp
}

// reserved names stay the program's own: user data cannot replace its raw copy or the
// provider's name.
var reserved = map[string]bool{"userdata": true, "provider": true}

// parseUserData recognises LinuxKit's JSON tree and cloud-config. Errors name what was
// skipped; everything valid is still returned.
func parseUserData(data []byte) (userConfig, []error) {
	trimmed := bytes.TrimSpace(data)
	switch {
	case bytes.HasPrefix(trimmed, []byte("{")):
		ops, errs := expandJSON(trimmed)
		return userConfig{format: "json", ops: ops}, errs
	case bytes.HasPrefix(trimmed, []byte("#cloud-config")):
		return parseCloudConfig(trimmed)
	}
	return userConfig{}, nil
}

// entry is one node of LinuxKit's JSON tree: a file (content) or a directory (entries).
type entry struct {
	Perm    string           `json:"perm"`
	Content *string          `json:"content"`
	Entries map[string]entry `json:"entries"`
}

// expandJSON turns {"dir":{"entries":{"file":{"perm":"0644","content":"..."}}}} into file
// operations, directories before their contents, in name order.
func expandJSON(data []byte) ([]fileOp, []error) {
	var root map[string]entry
	if err := json.Unmarshal(data, &root); err != nil {
		return nil, []error{fmt.Errorf("user data: JSON tree: %w", err)}
	}
	var ops []fileOp
	var errs []error
	var walk func(name string, e entry)
	walk = func(name string, e entry) {
		if len(ops) >= maxEntries {
			errs = append(errs, fmt.Errorf("user data: %s: more than %d entries, rest skipped", name, maxEntries))
			return
		}
		if err := checkName(name); err != nil {
			errs = append(errs, fmt.Errorf("user data: entry %w", err))
			return
		}
		isFile, isDir := e.Content != nil, e.Entries != nil
		if isFile == isDir {
			errs = append(errs, fmt.Errorf("user data: %s: want exactly one of content and entries", name))
			return
		}
		def := fs.FileMode(0o644)
		if isDir {
			def = 0o755
		}
		perm, err := parsePerm(e.Perm, def)
		if err != nil {
			errs = append(errs, fmt.Errorf("user data: %s: perm: %w", name, err))
			return
		}
		if isFile {
			ops = append(ops, fileOp{name: name, data: []byte(*e.Content), perm: perm})
			return
		}
		ops = append(ops, fileOp{name: name, dir: true, perm: perm})
		for _, k := range sortedKeys(e.Entries) {
			walk(name+"/"+k, e.Entries[k])
		}
	}
	for _, k := range sortedKeys(root) {
		if reserved[k] {
			errs = append(errs, fmt.Errorf("user data: %s: name reserved for metadata's own file", k))
			continue
		}
		walk(k, root[k])
	}
	return ops, errs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// parsePerm reads an octal mode ("0600", "600", "0o600"); empty gives def.
func parsePerm(s string, def fs.FileMode) (fs.FileMode, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimPrefix(s, "0o"), "0O"), 8, 32)
	if err != nil || n > 0o7777 {
		return 0, fmt.Errorf("%q: want an octal mode", s)
	}
	return cleanPerm(fs.FileMode(n)), nil
}

// cloudConfig holds the cloud-config keys metadata honours; the rest is left to others.
type cloudConfig struct {
	Hostname          string      `yaml:"hostname"`
	FQDN              string      `yaml:"fqdn"`
	SSHAuthorizedKeys []string    `yaml:"ssh_authorized_keys"`
	Users             []yaml.Node `yaml:"users"`
	WriteFiles        []writeFile `yaml:"write_files"`
}

type writeFile struct {
	Path        string `yaml:"path"`
	Content     string `yaml:"content"`
	Encoding    string `yaml:"encoding"`
	Permissions string `yaml:"permissions"`
}

type cloudUser struct {
	Name              string   `yaml:"name"`
	SSHAuthorizedKeys []string `yaml:"ssh_authorized_keys"`
}

func parseCloudConfig(data []byte) (userConfig, []error) {
	uc := userConfig{format: "cloud-config"}
	var cc cloudConfig
	if err := yaml.Unmarshal(data, &cc); err != nil {
		return uc, []error{fmt.Errorf("user data: cloud-config: %w", err)}
	}
	var errs []error
	uc.hostname = cc.Hostname
	if uc.hostname == "" {
		uc.hostname = cc.FQDN
	}
	uc.sshKeys = append(uc.sshKeys, cc.SSHAuthorizedKeys...)
	for i, n := range cc.Users {
		if n.Kind != yaml.MappingNode { // "default" and other strings carry no keys
			continue
		}
		var u cloudUser
		if err := n.Decode(&u); err != nil {
			errs = append(errs, fmt.Errorf("user data: cloud-config: users[%d] (line %d): %w", i, n.Line, err))
			continue
		}
		uc.sshKeys = append(uc.sshKeys, u.SSHAuthorizedKeys...)
	}
	for i, wf := range cc.WriteFiles {
		if i >= maxEntries {
			errs = append(errs, fmt.Errorf("user data: cloud-config: write_files: more than %d, rest skipped", maxEntries))
			break
		}
		op, err := wf.op()
		if err != nil {
			errs = append(errs, fmt.Errorf("user data: cloud-config: write_files[%d]: %w", i, err))
			continue
		}
		uc.ops = append(uc.ops, op)
	}
	return uc, errs
}

// op maps a write_files entry to a file below /run/config; other paths are refused, as
// metadata only writes there (services bind what they need from it).
func (wf writeFile) op() (fileOp, error) {
	rel, ok := strings.CutPrefix(wf.Path, configPath+"/")
	if !ok {
		return fileOp{}, fmt.Errorf("path %q: only paths under %s are written", wf.Path, configPath)
	}
	if err := checkName(rel); err != nil {
		return fileOp{}, fmt.Errorf("path %q: %w", wf.Path, err)
	}
	if reserved[rel] {
		return fileOp{}, fmt.Errorf("path %q: reserved for metadata's own file", wf.Path)
	}
	perm, err := parsePerm(wf.Permissions, 0o644)
	if err != nil {
		return fileOp{}, fmt.Errorf("%s: permissions: %w", wf.Path, err)
	}
	data, err := decodeContent(wf.Content, wf.Encoding)
	if err != nil {
		return fileOp{}, fmt.Errorf("%s: %w", wf.Path, err)
	}
	return fileOp{name: rel, data: data, perm: perm}, nil
}

// decodeContent undoes cloud-init's write_files encodings.
func decodeContent(content, encoding string) ([]byte, error) {
	b64 := func(s string) ([]byte, error) {
		return base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
	}
	gunzip := func(b []byte) ([]byte, error) {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		out, err := io.ReadAll(io.LimitReader(zr, maxUserData+1))
		if err == nil && len(out) > maxUserData {
			err = fmt.Errorf("more than %d bytes uncompressed", maxUserData)
		}
		return out, err
	}
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "text/plain":
		return []byte(content), nil
	case "b64", "base64":
		out, err := b64(content)
		if err != nil {
			return nil, fmt.Errorf("encoding %s: %w", encoding, err)
		}
		return out, nil
	case "gz", "gzip":
		out, err := gunzip([]byte(content))
		if err != nil {
			return nil, fmt.Errorf("encoding %s: %w", encoding, err)
		}
		return out, nil
	case "gz+b64", "gz+base64", "gzip+b64", "gzip+base64":
		raw, err := b64(content)
		if err == nil {
			raw, err = gunzip(raw)
		}
		if err != nil {
			return nil, fmt.Errorf("encoding %s: %w", encoding, err)
		}
		return raw, nil
	}
	return nil, errors.New("encoding " + encoding + ": want text/plain, b64, gzip or gz+b64")
}

// validHostname accepts a name sethostname takes and resolvers agree with: 1 to 64 bytes of
// letters, digits, '-' and '.', no empty label.
func validHostname(h string) error {
	if h == "" || len(h) > 64 {
		return fmt.Errorf("hostname %q: want 1 to 64 bytes", h)
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" {
			return fmt.Errorf("hostname %q: empty label", h)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("hostname %q: character %q", h, r)
			}
		}
	}
	return nil
}
