package kernelconfig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Merge makes buildDir/.config from frags, in order (a later fragment overrides an earlier
// one): it writes the fragments to buildDir/keel-fragments and runs, in the kernel source
// tree srcDir,
//
//	scripts/kconfig/merge_config.sh -n -O buildDir FRAGMENTS...
//
// with KCONFIG_CONFIG=buildDir/.config, ARCH=karch and CROSS_COMPILE=crossCompile (Kconfig
// asks that compiler what it supports). The fragments are merged on allnoconfig; the output
// is left in buildDir/merge_config.log, and Dropped is the check that matters. srcDir must
// be writable (merge_config.sh's temporary files) and clean; buildDir is created if needed.
func Merge(ctx context.Context, srcDir, buildDir, karch, crossCompile string, frags []Fragment) error {
	if len(frags) == 0 {
		return errors.New("kernel config merge: no fragments")
	}
	if karch == "" {
		return errors.New("kernel config merge: no kernel ARCH")
	}
	src, err := filepath.Abs(srcDir)
	if err != nil {
		return fmt.Errorf("kernel config merge: %w", err)
	}
	script := filepath.Join(src, "scripts", "kconfig", "merge_config.sh")
	if _, err := os.Stat(script); err != nil {
		return fmt.Errorf("kernel config merge: %s is not a Linux source tree: %w", srcDir, err)
	}
	dir, err := filepath.Abs(buildDir)
	if err != nil {
		return fmt.Errorf("kernel config merge: %w", err)
	}
	if strings.ContainsAny(src+dir, " \t\n") {
		return fmt.Errorf("kernel config merge: merge_config.sh cannot handle whitespace in %q or %q", src, dir)
	}
	files, err := writeFragments(filepath.Join(dir, "keel-fragments"), frags)
	if err != nil {
		return err
	}

	cmd := exec.CommandContext(ctx, "sh", append([]string{script, "-n", "-O", dir}, files...)...)
	cmd.Dir = src
	cmd.Env = append(mergeEnv(os.Environ()), "PWD="+src,
		"KCONFIG_CONFIG="+filepath.Join(dir, ".config"), "ARCH="+karch, "CROSS_COMPILE="+crossCompile)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	setProcessGroup(cmd)
	cmd.WaitDelay = 5 * time.Second
	runErr := cmd.Run()
	logErr := os.WriteFile(filepath.Join(dir, "merge_config.log"), out.Bytes(), 0o644)
	if runErr != nil {
		return fmt.Errorf("kernel config merge (ARCH=%s CROSS_COMPILE=%s) in %s: merge_config.sh: %w\n%s",
			karch, crossCompile, srcDir, runErr, tail(out.Bytes()))
	}
	if logErr != nil {
		return fmt.Errorf("kernel config merge: %w", logErr)
	}
	if _, err := os.Stat(filepath.Join(dir, ".config")); err != nil {
		return fmt.Errorf("kernel config merge: merge_config.sh wrote no .config: %w\n%s", err, tail(out.Bytes()))
	}
	return nil
}

// writeFragments writes frags into dir under their base names (characters merge_config.sh
// would split on replaced, and prefixed with their position when two share a name) and
// returns the paths in order.
func writeFragments(dir string, frags []Fragment) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("kernel config merge: %w", err)
	}
	seen := map[string]bool{}
	var paths []string
	for i, f := range frags {
		name := strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-+", r) {
				return r
			}
			return '_'
		}, filepath.Base(f.Name))
		if strings.Trim(name, ".") == "" {
			name = "fragment.config"
		}
		if seen[name] {
			name = fmt.Sprintf("%02d-%s", i, name)
		}
		seen[name] = true
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return nil, fmt.Errorf("kernel config merge: fragment %s: %w", f.Name, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// mergeEnv is env without the variables that would change what merge_config.sh or make do
// behind Merge's back: its own settings, an outer make's flags, merge_config.sh's CONFIG_
// prefix override, and the caller's PWD (the command runs in the source tree).
func mergeEnv(env []string) []string {
	drop := map[string]bool{
		"ARCH": true, "CROSS_COMPILE": true, "KCONFIG_CONFIG": true, "KCONFIG_ALLCONFIG": true,
		"O": true, "KBUILD_OUTPUT": true, "CONFIG_": true, "PWD": true,
		"MAKEFLAGS": true, "MFLAGS": true, "GNUMAKEFLAGS": true, "MAKELEVEL": true, "MAKEOVERRIDES": true,
	}
	var kept []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !drop[name] {
			kept = append(kept, kv)
		}
	}
	return kept
}

// tail is the end of a command's output, for error messages.
func tail(out []byte) string {
	const maxLines, maxBytes = 40, 4000
	s := strings.TrimRight(string(out), "\n")
	cut := false
	if len(s) > maxBytes {
		s, cut = s[len(s)-maxBytes:], true
	}
	if lines := strings.Split(s, "\n"); len(lines) > maxLines {
		s, cut = strings.Join(lines[len(lines)-maxLines:], "\n"), true
	}
	if cut {
		s = "...\n" + s
	}
	return s
}
