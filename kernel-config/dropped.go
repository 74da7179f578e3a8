package kernelconfig

import "fmt"

// Absent is the Got of a Problem or Failure whose symbol is not in the config at all.
const Absent = "absent"

// Problem is a requested symbol whose final value is not the one asked for.
type Problem struct {
	Symbol string
	Want   string // the requested value
	Got    string // the final value, or Absent
	File   string // where it was requested
	Line   int
}

// String says where the symbol was requested, what became of it, and the likely reason:
//
//	common.config:171: CONFIG_SQUASHFS=y requested, but olddefconfig dropped it (absent): a dependency or menu gate is off
func (p Problem) String() string {
	return fmt.Sprintf("%s:%d: %s=%s requested, but olddefconfig %s", p.File, p.Line, p.Symbol, p.Want, p.outcome())
}

func (p Problem) outcome() string {
	on := func(v string) bool { return v == "y" || v == "m" }
	switch {
	case p.Got == Absent:
		return "dropped it (absent): a dependency or menu gate is off"
	case on(p.Want) && p.Got == "n":
		return "dropped it (n): its prompt is hidden (e.g. behind EXPERT) or another member of its choice won"
	case p.Want == "y" && p.Got == "m":
		return "set it to m: it depends on a symbol that is only m"
	case p.Want == "m" && p.Got == "y":
		return "set it to y: it is bool, or a built-in symbol selects it"
	case p.Want == "n" && on(p.Got):
		return "set it to " + p.Got + ": something selects it, or it cannot be turned off here"
	}
	return "set it to " + p.Got + ": the value is out of range, or the symbol has no prompt"
}

// Dropped returns every request the final config does not honour, in request order. reqs
// are the requests of all fragments in merge order; when a symbol is requested more than
// once the last request wins, as in merge_config.sh, and only it is compared. A symbol
// requested "n" and absent from the final config is off, as asked.
func Dropped(reqs []Request, final Config) []Problem {
	last := map[string]int{}
	for i, r := range reqs {
		last[r.Symbol] = i
	}
	var probs []Problem
	for i, r := range reqs {
		if last[r.Symbol] != i {
			continue
		}
		got, ok := final[r.Symbol]
		if !ok {
			if r.Value == "n" {
				continue
			}
			got = Absent
		}
		if got == r.Value {
			continue
		}
		probs = append(probs, Problem{Symbol: r.Symbol, Want: r.Value, Got: got, File: r.File, Line: r.Line})
	}
	return probs
}
