package main

import (
	"errors"
	"flag"
	"io"
	"os"
	"runtime"
	"strings"

	"golang.org/x/term"

	"github.com/keel-os/keel/arch"
	"github.com/keel-os/keel/rootfs/image"
)

// errUsage reports bad flags; the flag package has already printed why.
var errUsage = errors.New("usage")

// cacheFlag defines --cache on fs; the returned func gives its value, else
// image.DefaultCacheDir().
func cacheFlag(fs *flag.FlagSet) func() (string, error) {
	dir := fs.String("cache", "", "cache and local store directory (default $KEEL_CACHE or ~/.cache/keel)")
	return func() (string, error) {
		if *dir != "" {
			return *dir, nil
		}
		return image.DefaultCacheDir()
	}
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("keel "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses flags, allowing them after positional arguments too ("keel build a.yml -o out").
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, errUsage
			}
			return nil, errUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// listFlag is a repeatable or comma-separated string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

// argsFlag collects one argument per use, commas kept: qemu's options are comma lists
// (-qmp unix:PATH,server=on,wait=off).
type argsFlag []string

func (a *argsFlag) String() string     { return strings.Join(*a, " ") }
func (a *argsFlag) Set(s string) error { *a = append(*a, s); return nil }

func hostArch() string { return runtime.GOARCH }

// archUsage is the help text of an --arch flag: what, then the architectures of package arch.
func archUsage(what string) string { return what + ": " + orList(arch.Names()) }

// kconfigSymbols lists the CONFIG_ symbol of each architecture, that tells a .config's arch.
func kconfigSymbols() []string {
	var syms []string
	for _, a := range arch.All() {
		syms = append(syms, a.Kconfig)
	}
	return syms
}

// orList joins words as "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// isTerminal reports whether w is a terminal, for progress output.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
