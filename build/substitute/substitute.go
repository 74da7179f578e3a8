// Package substitute maps LinuxKit's system images to Keel's own packages, so that a LinuxKit
// user's YAML builds a Keel machine unchanged: linuxkit/init, linuxkit/runc and
// linuxkit/containerd become keel/init (runc and containerd are inside it), linuxkit/getty
// becomes keel/getty, and so on. Each substitute accepts the command lines, paths and
// environment its LinuxKit original documents. Images with no Keel equivalent are left alone
// and run as any container does.
package substitute

import (
	"fmt"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/keel-os/keel/build/spec"
)

// Rule maps one LinuxKit repository to a Keel one.
type Rule struct {
	From string // a repository on Docker Hub, e.g. "linuxkit/getty"
	To   string // Keel's repository, e.g. "keel/getty"
	Why  string // what the substitute is, for the docs and keel build's output
}

// Table is every substitution, the one place they are listed (docs/yaml.md shows it).
var Table = []Rule{
	{"linuxkit/kernel", "keel/kernel", "Keel's tuned kernel for the arch (keel kernel build)"},
	{"linuxkit/init", "keel/init", "Keel's PID 1, with runc and containerd inside"},
	{"linuxkit/runc", "keel/init", "runc is inside keel/init"},
	{"linuxkit/containerd", "keel/init", "containerd is inside keel/init"},
	{"linuxkit/getty", "keel/getty", "a shell on the consoles; INSECURE=true is its only mode"},
	{"linuxkit/sysctl", "keel/sysctl", "kernel parameters from /etc/sysctl.d"},
	{"linuxkit/dhcpcd", "keel/dhcpcd", "DHCP on every link; /sbin/dhcpcd takes --nobackground, -f FILE and -1"},
	{"linuxkit/metadata", "keel/metadata", "user data and instance metadata into /run/config"},
	{"linuxkit/ca-certificates", "keel/ca-certificates", "Debian's CA bundle at /etc/ssl/certs/ca-certificates.crt"},
	{"linuxkit/format", "keel/format", "partitions and formats a blank disk; -type ext4 only"},
	{"linuxkit/mount", "keel/mount", "mounts by label, UUID or device; /usr/bin/mountie"},
	{"linuxkit/extend", "keel/extend", "grows the last partition and its ext4"},
	{"linuxkit/swap", "keel/swap", "a swap file; /swap.sh takes --path and --size"},
	{"linuxkit/dm-crypt", "keel/dm-crypt", "a dm-crypt volume; /usr/bin/crypto NAME DEVICE, key in /etc/dm-crypt"},
	{"linuxkit/sshd", "keel/sshd", "public-key logins as root, sessions with a pty, SFTP"},
	{"linuxkit/acpid", "keel/acpid", "the power button powers off through PID 1; busybox acpid's flags are ignored"},
}

// Substitution is one reference that was replaced.
type Substitution struct {
	Site    spec.RefSite
	From    string // the reference as written
	To      string // the Keel reference, "" when the entry was dropped as a repeat
	Dropped bool   // an init entry whose substitute an earlier init entry already names
}

// String says what happened, as keel build prints it.
func (s Substitution) String() string {
	if s.Dropped {
		return fmt.Sprintf("%s: %s %s: dropped, keel/init already holds it", s.Site.Pos, s.Site.Field, s.From)
	}
	return fmt.Sprintf("%s: %s %s → %s", s.Site.Pos, s.Site.Field, s.From, s.To)
}

// Lookup returns the rule for ref's repository, if it has one. Any tag or digest of a
// LinuxKit image maps to the substitute's tag.
func Lookup(ref string) (Rule, bool) {
	r, err := name.ParseReference(ref)
	if err != nil || r.Context().RegistryStr() != name.DefaultRegistry {
		return Rule{}, false
	}
	repo := r.Context().RepositoryStr()
	for _, rule := range Table {
		if rule.From == repo {
			return rule, true
		}
	}
	return Rule{}, false
}

// Apply replaces every LinuxKit system image of cfg by its Keel substitute tagged tag, and
// drops init entries that become repeats (linuxkit/init, runc and containerd are all
// keel/init). It returns what it changed, in the order of the description.
func Apply(cfg *spec.Config, tag string) []Substitution {
	var subs []Substitution
	_ = cfg.EachRef(func(s spec.RefSite) error {
		rule, ok := Lookup(*s.Ref)
		if !ok {
			return nil
		}
		to := rule.To + ":" + tag
		subs = append(subs, Substitution{Site: s, From: *s.Ref, To: to})
		*s.Ref = to
		return nil
	})
	// Drop the init entries that repeat an earlier one once substituted.
	seen := map[string]bool{}
	keep := cfg.Init[:0]
	for _, r := range cfg.Init {
		if seen[r.Image] {
			for i := range subs {
				if subs[i].Site.Section == "init" && subs[i].Site.Pos == r.Pos && subs[i].To == r.Image {
					subs[i].Dropped, subs[i].To = true, ""
				}
			}
			continue
		}
		seen[r.Image] = true
		keep = append(keep, r)
	}
	cfg.Init = slices.Clip(keep)
	return subs
}
