package bench

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"strings"

	"github.com/keel-os/keel/timeline"
)

// Bar kinds, which set a bar's colour.
const (
	BarKernel     = "kernel"
	BarPID1       = "pid1"
	BarOnboot     = "onboot"
	BarContainerd = "containerd"
	BarService    = "service"
	BarShutdown   = "shutdown"
	BarOther      = "other"
)

var barColors = map[string]string{
	BarKernel:     "#9e9e9e",
	BarPID1:       "#4a7ebb",
	BarOnboot:     "#e8a33d",
	BarContainerd: "#8e6bbf",
	BarService:    "#4caf50",
	BarShutdown:   "#d9534f",
	BarOther:      "#607d8b",
}

var legendOrder = []struct{ kind, text string }{
	{BarKernel, "kernel"},
	{BarPID1, "PID 1"},
	{BarOnboot, "onboot container"},
	{BarContainerd, "containerd"},
	{BarService, "service"},
	{BarShutdown, "shutdown"},
	{BarOther, "other"},
}

// Bar is one horizontal bar of the boot chart, in seconds of uptime.
type Bar struct {
	Label      string
	Kind       string
	Start, End float64
}

// ChartBars returns the bars of t's chart, top to bottom: the kernel, PID 1's mounts, every
// span in start order, and the shutdown. Stages t did not reach are left out; a span that
// has not ended is drawn up to its start.
func ChartBars(t Timeline) []Bar {
	var bars []Bar
	if t.PID1Start > 0 {
		bars = append(bars, Bar{"kernel", BarKernel, 0, t.PID1Start})
	}
	if t.PID1Start > 0 && t.MountsDone > 0 {
		bars = append(bars, Bar{"PID 1: mounts, modules", BarPID1, t.PID1Start, t.MountsDone})
	}
	spans := append([]Span(nil), t.Spans...)
	// Stable order by start, as PID 1 prints them; stable keeps its order for ties.
	for i := 1; i < len(spans); i++ {
		for j := i; j > 0 && spans[j].Start < spans[j-1].Start; j-- {
			spans[j], spans[j-1] = spans[j-1], spans[j]
		}
	}
	for _, s := range spans {
		end := s.End
		if end < s.Start {
			end = s.Start
		}
		label := s.Name
		if label == timeline.ModulesSpan {
			label = "PID 1: modules (coldplug)"
		}
		bars = append(bars, Bar{label, spanKind(s.Name), s.Start, end})
	}
	if t.ShutdownStart > 0 {
		end := max(t.ShutdownEnd, t.ShutdownStart)
		bars = append(bars, Bar{"shutdown", BarShutdown, t.ShutdownStart, end})
	}
	return bars
}

func spanKind(name string) string {
	switch {
	case strings.HasPrefix(name, "onboot/"):
		return BarOnboot
	case strings.HasPrefix(name, "onshutdown/"):
		return BarShutdown
	case strings.HasPrefix(name, "service/"), strings.HasPrefix(name, "services/"):
		return BarService
	case name == "containerd" || strings.HasPrefix(name, "containerd/"):
		return BarContainerd
	case name == timeline.ModulesSpan:
		return BarPID1
	}
	return BarOther
}

// Chart is a boot chart to draw.
type Chart struct {
	Title    string
	Subtitle string
	Timeline Timeline
	// Floor, if positive, is marked with a vertical line: the floor's median uptime.
	Floor float64
}

// Chart geometry, in pixels.
const (
	chartWidth = 1000
	labelWidth = 220 // names, right-aligned left of the plot
	rightPad   = 90  // room for the duration after the latest bar
	rowHeight  = 24
	barHeight  = 16
	plotTop    = 84
)

// SVG draws the chart in the manner of systemd-analyze plot: one bar per stage and
// container on a time axis in seconds, with gridlines, each bar's duration after it, and
// markers for the floor's uptime and the moment all services had started. The SVG is
// self-contained (no external fonts, styles or scripts).
func (c Chart) SVG() []byte {
	bars := ChartBars(c.Timeline)
	t := c.Timeline
	end := math.Max(c.Floor, t.ServicesReady)
	for _, b := range bars {
		end = math.Max(end, b.End)
	}
	if end <= 0 {
		end = 1
	}
	step := niceStep(end / 10)
	xmax := math.Ceil(end/step-1e-9) * step
	x0, x1 := float64(labelWidth), float64(chartWidth-rightPad)
	x := func(s float64) float64 { return x0 + (x1-x0)*s/xmax }

	type marker struct {
		at    float64
		color string
		text  string
	}
	var markers []marker
	if c.Floor > 0 {
		markers = append(markers, marker{c.Floor, "#c62828", fmt.Sprintf("floor: bare kernel reaches /init at %.2f s (median)", c.Floor)})
	}
	if t.ServicesReady > 0 {
		markers = append(markers, marker{t.ServicesReady, "#2e7d32", fmt.Sprintf("all services started at %.2f s", t.ServicesReady)})
	}

	rowsEnd := plotTop + rowHeight*len(bars)
	markersEnd := rowsEnd + 8 + 16*len(markers)
	legendY := markersEnd + 22
	height := legendY + 24

	var w svgWriter
	w.printf(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	w.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans, Verdana, Helvetica, Arial, sans-serif" font-size="12">`+"\n",
		chartWidth, height, chartWidth, height)
	w.printf(`<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`+"\n", chartWidth, height)
	w.printf(`<text x="12" y="26" font-size="16" font-weight="bold" fill="#212121">%s</text>`+"\n", esc(c.Title))
	if c.Subtitle != "" {
		w.printf(`<text x="12" y="46" fill="#616161">%s</text>`+"\n", esc(c.Subtitle))
	}

	// Row shading, then gridlines and tick labels, then bars on top.
	w.printf(`<g class="rows">` + "\n")
	for i := range bars {
		if i%2 == 1 {
			w.printf(`<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="#f5f5f5"/>`+"\n", 4.0, plotTop+i*rowHeight, float64(chartWidth-8), rowHeight)
		}
	}
	w.printf("</g>\n")
	w.printf(`<g class="axis" fill="#424242">` + "\n")
	w.printf(`<text x="%.1f" y="%d" text-anchor="end" fill="#757575">seconds since the kernel started</text>`+"\n", x0-8, plotTop-10)
	for i := 0; ; i++ {
		s := float64(i) * step
		if s > xmax+step/4 {
			break
		}
		if i > 0 { // an unlabelled minor gridline half a step earlier
			px := x(s - step/2)
			w.printf(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ebebeb" stroke-width="1"/>`+"\n", px, plotTop, px, rowsEnd)
		}
		px := x(s)
		color := "#cfcfcf"
		if i == 0 {
			color = "#9e9e9e"
		}
		w.printf(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="1"/>`+"\n", px, plotTop-4, px, rowsEnd, color)
		w.printf(`<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", px, plotTop-10, tickLabel(s, step))
	}
	w.printf("</g>\n")

	w.printf(`<g class="bars">` + "\n")
	for i, b := range bars {
		y := plotTop + i*rowHeight
		by := float64(y) + float64(rowHeight-barHeight)/2
		bx := x(b.Start)
		bw := math.Max(x(b.End)-bx, 1.5)
		ty := y + rowHeight/2 + 4
		w.printf(`<text x="%.1f" y="%d" text-anchor="end" fill="#212121">%s</text>`+"\n", x0-8, ty, esc(b.Label))
		w.printf(`<rect class="bar" data-kind="%s" x="%.1f" y="%.1f" width="%.1f" height="%d" rx="2" fill="%s"><title>%s: %.3f → %.3f s (%.3f s)</title></rect>`+"\n",
			b.Kind, bx, by, bw, barHeight, barColors[b.Kind], esc(b.Label), b.Start, b.End, b.End-b.Start)
		w.printf(`<text x="%.1f" y="%d" fill="#424242" font-size="11">%.2f s</text>`+"\n", bx+bw+4, ty, b.End-b.Start)
	}
	w.printf("</g>\n")

	w.printf(`<g class="markers">` + "\n")
	for i, m := range markers {
		px := x(m.at)
		ly := rowsEnd + 8 + 16*i + 10
		w.printf(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="1.5" stroke-dasharray="5,3"/>`+"\n", px, plotTop-4, px, ly-4, m.color)
		anchor, tx := "start", px+5
		if px > (x0+x1)/2 {
			anchor, tx = "end", px-5
		}
		w.printf(`<text x="%.1f" y="%d" text-anchor="%s" fill="%s" font-size="11">%s</text>`+"\n", tx, ly, anchor, m.color, esc(m.text))
	}
	w.printf("</g>\n")

	w.printf(`<g class="legend">` + "\n")
	lx := 12.0
	present := map[string]bool{}
	for _, b := range bars {
		present[b.Kind] = true
	}
	for _, l := range legendOrder {
		if !present[l.kind] {
			continue
		}
		w.printf(`<rect x="%.1f" y="%d" width="12" height="12" rx="2" fill="%s"/>`+"\n", lx, legendY-10, barColors[l.kind])
		w.printf(`<text x="%.1f" y="%d" fill="#424242">%s</text>`+"\n", lx+17, legendY, esc(l.text))
		lx += 17 + 7.5*float64(len(l.text)) + 18
	}
	w.printf("</g>\n</svg>\n")
	return w.buf.Bytes()
}

// niceStep rounds a raw tick interval up to 1, 2, 2.5 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 0.1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if raw <= m*p*(1+1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// tickLabel prints s with as many decimals as step needs.
func tickLabel(s, step float64) string {
	dec := 0
	for d := step; dec < 3 && math.Abs(d-math.Round(d)) > 1e-9; d *= 10 {
		dec++
	}
	return fmt.Sprintf("%.*f", dec, s)
}

type svgWriter struct{ buf bytes.Buffer }

func (w *svgWriter) printf(format string, args ...any) { fmt.Fprintf(&w.buf, format, args...) }

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s)) //nolint:errcheck // a strings.Builder never fails
	return b.String()
}
