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
	// Unless, if set, says why an entry keeps the LinuxKit image: the substitute would not
	// mean what the entry asks for. It gets the onboot or service entry, nil elsewhere.
	Unless func(entry *spec.Image) string
}

// Table is every substitution, the one place they are listed (docs/yaml.md shows it).
var Table = []Rule{
	{"linuxkit/kernel", "keel/kernel", "Keel's tuned kernel for the arch (keel kernel build)", nil},
	{"linuxkit/init", "keel/init", "Keel's PID 1, with runc and containerd inside", nil},
	{"linuxkit/runc", "keel/init", "runc is inside keel/init", nil},
	{"linuxkit/containerd", "keel/init", "containerd is inside keel/init", nil},
	{"linuxkit/getty", "keel/getty", "a root shell on the consoles, for entries with INSECURE=true (without it LinuxKit's getty asks for a password)", gettyUnless},
	{"linuxkit/sysctl", "keel/sysctl", "kernel parameters from /etc/sysctl.d", nil},
	{"linuxkit/dhcpcd", "keel/dhcpcd", "DHCP on every link; /sbin/dhcpcd takes --nobackground, -f FILE and -1", nil},
	{"linuxkit/metadata", "keel/metadata", "user data and instance metadata into /run/config", nil},
	{"linuxkit/ca-certificates", "keel/ca-certificates", "Debian's CA bundle at /etc/ssl/certs/ca-certificates.crt", nil},
	{"linuxkit/format", "keel/format", "partitions and formats a blank disk; -type ext4 only", nil},
	{"linuxkit/mount", "keel/mount", "mounts by label, UUID or device; /usr/bin/mountie", nil},
	{"linuxkit/extend", "keel/extend", "grows the last partition and its ext4", nil},
	{"linuxkit/swap", "keel/swap", "a swap file; /swap.sh takes --path and --size", nil},
	{"linuxkit/dm-crypt", "keel/dm-crypt", "a dm-crypt volume; /usr/bin/crypto NAME DEVICE, key in /etc/dm-crypt", nil},
	{"linuxkit/sshd", "keel/sshd", "public-key logins as root, sessions with a pty, SFTP", nil},
	{"linuxkit/openntpd", "keel/ntpd", "keeps the clock with SNTP: servers from DHCP, metadata, else pool.ntp.org", nil},
	{"linuxkit/acpid", "keel/acpid", "the power button powers off through PID 1; busybox acpid's flags are ignored", nil},
}

// gettyUnless keeps LinuxKit's getty for entries without INSECURE=true: LinuxKit's asks for
// the root password of /etc/getty.shadow then, and keel/getty has no login.
func gettyUnless(entry *spec.Image) string {
	if entry != nil && entry.Env != nil && slices.Contains(*entry.Env, "INSECURE=true") {
		return ""
	}
	return "without INSECURE=true LinuxKit's getty asks for a password; keel/getty, a shell without login, would not"
}

// Substitution is one reference that was replaced, or kept with the reason.
type Substitution struct {
	Site    spec.RefSite
	From    string // the reference as written
	To      string // the Keel reference, "" when dropped or kept
	Dropped bool   // an init entry whose substitute an earlier init entry already names
	Kept    string // why the LinuxKit image stays, when it does
	Note    string // what else changed, e.g. the kernel's ucode dropped
}

// String says what happened, as keel build prints it.
func (s Substitution) String() string {
	switch {
	case s.Dropped:
		return fmt.Sprintf("%s: %s %s: dropped, keel/init already holds it", s.Site.Pos, s.Site.Field, s.From)
	case s.Kept != "":
		return fmt.Sprintf("%s: %s %s: kept: %s", s.Site.Pos, s.Site.Field, s.From, s.Kept)
	case s.Note != "":
		return fmt.Sprintf("%s: %s %s → %s (%s)", s.Site.Pos, s.Site.Field, s.From, s.To, s.Note)
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
		if rule.Unless != nil {
			if why := rule.Unless(s.Entry); why != "" {
				subs = append(subs, Substitution{Site: s, From: *s.Ref, Kept: why})
				return nil
			}
		}
		sub := Substitution{Site: s, From: *s.Ref, To: rule.To + ":" + tag}
		if s.Section == "kernel" && cfg.Kernel.UCode != nil {
			// Keel's kernel image carries no microcode: the ucode cpio LinuxKit's has.
			sub.Note = fmt.Sprintf("ucode %s dropped: keel/kernel has no microcode", *cfg.Kernel.UCode)
			cfg.Kernel.UCode = nil
		}
		subs = append(subs, sub)
		*s.Ref = sub.To
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
