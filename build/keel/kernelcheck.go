package main

import (
	"fmt"
	"io"
	"strings"

	keelarch "github.com/keel-os/keel/arch"
	kernelconfig "github.com/keel-os/keel/kernel-config"
)

// kernelCheckCmd is `keel kernel check [--arch A] [--keel] [--fragments F1,F2,...] CONFIG`:
// it checks a kernel .config (or a gzipped one, such as /proc/config.gz) against the
// container and hardening requirements, and, given the fragments it was merged from, reports
// every requested symbol olddefconfig dropped. It fails when anything does not pass.
func kernelCheckCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("kernel check", stderr)
	arch := fs.String("arch", "", archUsage("architecture")+" (default: from "+orList(kconfigSymbols())+" in the config, else amd64)")
	keel := fs.Bool("keel", false, "the config was merged from Keel's own fragments for the arch: report what was dropped")
	var fragments listFlag
	fs.Var(&fragments, "fragments", "fragments the config was merged from, comma-separated, in merge order (after Keel's with --keel): report what was dropped")
	files, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		fmt.Fprintln(stderr, "usage: keel kernel check [--arch A] [--keel] [--fragments F1,F2,...] CONFIG")
		return errUsage
	}
	path := files[0]
	cfg, err := kernelconfig.ReadConfigFile(path)
	if err != nil {
		return err
	}

	guessed := kernelconfig.GuessArch(cfg)
	how := "given"
	switch {
	case *arch != "":
		if guessed != "" && guessed != *arch {
			fmt.Fprintf(stderr, "keel kernel check: note: %s looks like an %s config; checking it as %s\n", path, guessed, *arch)
		}
	case guessed != "":
		*arch, how = guessed, "from the config"
	default:
		*arch, how = "amd64", "default"
	}
	if _, err := keelarch.Lookup(*arch); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: checking as %s (%s)\n", path, *arch, how)

	var frags []kernelconfig.Fragment
	if *keel {
		if frags, err = kernelconfig.Fragments(*arch); err != nil {
			return err
		}
	}
	for _, p := range fragments {
		f, err := kernelconfig.LoadFragment(p)
		if err != nil {
			return err
		}
		frags = append(frags, f)
	}
	var dropped []kernelconfig.Problem
	if len(frags) > 0 {
		reqs, err := kernelconfig.ParseFragments(frags)
		if err != nil {
			return err
		}
		dropped = kernelconfig.Dropped(reqs, cfg)
		if len(dropped) == 0 {
			fmt.Fprintf(stdout, "fragments: all %d requests honoured\n", len(reqs))
		} else {
			fmt.Fprintf(stdout, "fragments: %d requested values are not in the config:\n", len(dropped))
			for _, p := range dropped {
				fmt.Fprintln(stdout, p)
			}
		}
	}

	rep := kernelconfig.Check(cfg, *arch)
	fmt.Fprintln(stdout, rep)

	var bad []string
	if len(dropped) > 0 {
		bad = append(bad, fmt.Sprintf("%d requested values dropped", len(dropped)))
	}
	if !rep.OK() {
		bad = append(bad, fmt.Sprintf("%d requirements not met", len(rep.Failures)))
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s: %s", path, strings.Join(bad, ", "))
	}
	return nil
}
