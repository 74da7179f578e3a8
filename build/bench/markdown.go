package bench

import (
	"fmt"
	"strconv"
	"strings"
)

// Markdown renders r as the tables of bench.md (and of `keel bench`'s output).
func Markdown(r *Result) string {
	var b strings.Builder
	c := r.Config
	fmt.Fprintf(&b, "Boot of %s under QEMU (%s, %d vCPU, %s), %d runs each of the floor and Keel (from an initramfs and from a squashfs), alternating. ",
		strings.Join(c.Files, " + "), c.Accel, c.CPUs, c.Mem, c.Runs)
	if len(c.MoreCPUs) > 0 {
		fmt.Fprintf(&b, "The vCPU table also boots each at %s vCPUs. ", strings.Trim(fmt.Sprint(c.MoreCPUs), "[]"))
	}
	fmt.Fprintf(&b, "Host: %s, %d cores; %s; %s. Kernel command line: `%s`.\n\n",
		orDash(r.Host.CPU), r.Host.Cores, orDash(r.Host.QEMU), orDash(r.Host.Go), c.Cmdline)

	b.WriteString("| boot stage (seconds since the kernel started) | median | min | max |\n|---|--:|--:|--:|\n")
	for _, m := range r.Boot {
		if m.Key == "wall_floor" {
			fmt.Fprintf(&b, "| **all services started / floor** (medians) | **%s** | | |\n", ratio(r.Ratio))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", m.Label, secs(m.N, m.Median), secs(m.N, m.Min), secs(m.N, m.Max))
	}

	if r.Contended > 0 {
		fmt.Fprintf(&b, "\n**Warning: %d of %d boots ran while another QEMU was running on this host; their times are too long.**\n",
			r.Contended, len(r.Runs))
	}

	if len(r.CPU) > 0 {
		b.WriteString("\n| CPU time (seconds, summed over the vCPUs) | median | min | max |\n|---|--:|--:|--:|\n")
		for _, m := range r.CPU {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", m.Label, cpuSecs(m.N, m.Median), cpuSecs(m.N, m.Min), cpuSecs(m.N, m.Max))
		}
	}

	b.WriteString("\n| memory when all services started | median kB |\n|---|--:|\n")
	for _, m := range r.Memory {
		v := "—"
		if m.N > 0 {
			v = thousands(int64(m.Median + 0.5))
		}
		fmt.Fprintf(&b, "| %s | %s |\n", m.Label, v)
	}

	if len(r.Layouts) > 0 {
		b.WriteString("\n| root handed to the kernel (medians of the runs) | loaded | PID 1 starts | all services started | memory in use | qemu wall |\n|---|--:|--:|--:|--:|--:|\n")
		for _, l := range r.Layouts {
			fmt.Fprintf(&b, "| %s | %.2f MiB | %s | %s | %s kB | %s |\n", l.Name, float64(l.Bytes)/(1<<20),
				secs(l.PID1Start.N, l.PID1Start.Median), secs(l.ServicesReady.N, l.ServicesReady.Median),
				thousands(int64(l.MemUsed.Median+0.5)), secs(l.Wall.N, l.Wall.Median))
		}
	}

	if len(r.VCPUs) > 0 {
		b.WriteString("\n| vCPUs | root | floor | PID 1 starts | all services started | ÷ floor | PID 1 → services | CPU busy in it | vCPUs busy |\n|--:|---|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, v := range r.VCPUs {
			fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s | %s | %.2f |\n", v.CPUs, v.Layout,
				secs(v.Floor.N, v.Floor.Median), secs(v.PID1Start.N, v.PID1Start.Median),
				secs(v.ServicesReady.N, v.ServicesReady.Median), ratio(v.Ratio),
				secs(v.PID1ToReady.N, v.PID1ToReady.Median), cpuSecs(v.Busy.N, v.Busy.Median), v.Parallel)
		}
	}

	if len(r.MinMemory) > 0 {
		b.WriteString(minMemMarkdown(r))
	}

	if rs := r.Restarts; rs != nil {
		fmt.Fprintf(&b, "\n%d of %d service restarts (`keel-ctl restart`: stop, new task) took %.1f s in one more boot.\n\n",
			rs.Done, rs.Requested, rs.Seconds)
		samples := rs.Samples
		b.WriteString("| PID 1, containerd, shims | when all services started |")
		for _, s := range samples {
			fmt.Fprintf(&b, " after %d restarts |", s.Restarts)
		}
		b.WriteString("\n|---|--:|" + strings.Repeat("--:|", len(samples)) + "\n")
		kb := func(v float64) string { return thousands(int64(v+0.5)) + " kB" }
		for _, row := range []struct {
			label string
			value func(Memory) string
		}{
			{"PID 1 peak RSS (VmHWM)", func(m Memory) string { return kb(m.PID1VmHWM) }},
			{"PID 1 anonymous RSS (RssAnon)", func(m Memory) string { return kb(m.PID1RssAnon) }},
			{"PID 1 goroutines", func(m Memory) string { return strconv.Itoa(m.PID1Goroutines) }},
			{"PID 1 open file descriptors", func(m Memory) string { return strconv.Itoa(m.PID1FDs) }},
			{"containerd RSS", func(m Memory) string { return kb(m.ContainerdRss) }},
			{"containerd shims RSS (all)", func(m Memory) string { return kb(m.ShimsRss) }},
		} {
			fmt.Fprintf(&b, "| %s | %s |", row.label, row.value(rs.Before))
			for _, s := range samples {
				fmt.Fprintf(&b, " %s |", row.value(s.Memory))
			}
			b.WriteString("\n")
		}
	}

	s := r.Size
	b.WriteString("\n| image part | bytes | MiB |\n|---|--:|--:|\n")
	row := func(name string, n int64) {
		fmt.Fprintf(&b, "| %s | %s | %.2f |\n", name, thousands(n), float64(n)/(1<<20))
	}
	row("kernel", s.Kernel)
	row("initrd, "+r.Config.Compression+" (as booted)", s.InitrdCompressed)
	row("initrd, uncompressed cpio", s.InitrdUncompressed)
	if s.Squashfs > 0 {
		row("squashfs root (kernel+squashfs), as booted", s.Squashfs)
	}
	for _, p := range s.Parts {
		name := "&nbsp;&nbsp;" + p.Name
		if len(p.Links) > 0 {
			name += " (one binary, also " + strings.Join(p.Links, ", ") + ")"
		}
		row(name, p.Bytes)
	}

	bt := r.Build
	if bt.Runs > 0 {
		rounds := "rounds"
		if bt.Runs == 1 {
			rounds = "round"
		}
		fmt.Fprintf(&b, "\n| `keel build` (%d %s), seconds | median | min | max |\n|---|--:|--:|--:|\n", bt.Runs, rounds)
		for _, row := range []struct {
			label string
			s     Stat
		}{
			{"images in the local store (`make image`)", bt.Store},
			{"cold: empty cache, pulled from a registry on 127.0.0.1", bt.Cold},
			{"warm: the same with the cache filled", bt.Warm},
		} {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", row.label, secs(row.s.N, row.s.Median), secs(row.s.N, row.s.Min), secs(row.s.N, row.s.Max))
		}
		if len(bt.OtherQEMUs) > 0 {
			b.WriteString("\n**Warning: another QEMU ran during the build timings.**\n")
		}
	}
	return b.String()
}

func secs(n int, v float64) string {
	if n == 0 || v <= 0 {
		return "—"
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// cpuSecs is secs for a CPU time, where zero (no idle time at all) is a value, not a stage
// never reached.
func cpuSecs(n int, v float64) string {
	if n == 0 {
		return "—"
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func ratio(v float64) string {
	if v <= 0 {
		return "—"
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + "×"
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// thousands formats n with comma separators: 1234567 is "1,234,567".
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// minMemMarkdown is the minimum-memory table: a column per layout, its probes below.
func minMemMarkdown(r *Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n| smallest `-m` that reaches services-ready and stays up %s s |", strconv.FormatFloat(r.Config.MinMemStay, 'f', -1, 64))
	for _, m := range r.MinMemory {
		fmt.Fprintf(&b, " %s |", m.Name)
	}
	b.WriteString("\n|---|" + strings.Repeat("--:|", len(r.MinMemory)) + "\n")
	fmt.Fprintf(&b, "| MiB (to %d MiB) |", r.Config.MinMemResolution)
	for _, m := range r.MinMemory {
		switch {
		case m.Error != "":
			b.WriteString(" — |")
		case m.Failed == 0:
			fmt.Fprintf(&b, " ≤ %d |", m.MiB)
		default:
			fmt.Fprintf(&b, " **%d** |", m.MiB)
		}
	}
	b.WriteString("\n| probes (MiB: ✓ passed, ✗ failed) |")
	for _, m := range r.MinMemory {
		var ps []string
		for _, p := range m.Probes {
			mark := "✗"
			if p.OK {
				mark = "✓"
			}
			ps = append(ps, fmt.Sprintf("%d %s", p.MiB, mark))
		}
		fmt.Fprintf(&b, " %s |", strings.Join(ps, ", "))
	}
	b.WriteString("\n")
	for _, m := range r.MinMemory {
		if m.Error != "" {
			fmt.Fprintf(&b, "\n**%s: no minimum found: %s**\n", m.Name, m.Error)
		}
	}
	return b.String()
}
