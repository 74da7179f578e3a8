package bench

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

// svgElement is any element of an SVG, decoded generically.
type svgElement struct {
	XMLName  xml.Name
	Attrs    []xml.Attr   `xml:",any,attr"`
	Children []svgElement `xml:",any"`
	Text     string       `xml:",chardata"`
}

func (e svgElement) attr(name string) string {
	for _, a := range e.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (e svgElement) walk(f func(svgElement)) {
	f(e)
	for _, c := range e.Children {
		c.walk(f)
	}
}

func decodeSVG(t *testing.T, data []byte) svgElement {
	t.Helper()
	var root svgElement
	if err := xml.Unmarshal(data, &root); err != nil {
		t.Fatalf("SVG is not valid XML: %v\n%s", err, data)
	}
	// The whole document must decode, token by token, without errors.
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		if _, err := d.Token(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("SVG token error: %v", err)
		}
	}
	if root.XMLName.Local != "svg" || root.XMLName.Space != "http://www.w3.org/2000/svg" {
		t.Fatalf("root element %v, want svg in the SVG namespace", root.XMLName)
	}
	return root
}

func testChart(t *testing.T) Chart {
	tl, err := LastTimeline(fakeKeelConsole)
	if err != nil {
		t.Fatal(err)
	}
	return Chart{Title: "Keel boot <test> & co", Subtitle: "run 1", Timeline: tl, Floor: 0.8}
}

func TestChartSVGIsValidXMLWithOneBarPerStageAndSpan(t *testing.T) {
	c := testChart(t)
	root := decodeSVG(t, c.SVG())
	var titles []string
	root.walk(func(e svgElement) {
		if e.XMLName.Local == "rect" && e.attr("class") == "bar" {
			for _, ch := range e.Children {
				if ch.XMLName.Local == "title" {
					name, _, _ := strings.Cut(ch.Text, ":")
					titles = append(titles, name)
				}
			}
		}
	})
	// kernel, PID 1 mounts, the three spans, shutdown.
	want := []string{"kernel", "PID 1", "onboot/000-sysctl", "containerd", "service/getty", "shutdown"}
	if strings.Join(titles, ",") != strings.Join(want, ",") {
		t.Errorf("bars %q, want %q", titles, want)
	}
}

func TestChartSVGMarksTheFloorAndLabelsTheAxisInSeconds(t *testing.T) {
	data := string(testChart(t).SVG())
	for _, s := range []string{"floor: bare kernel reaches /init at 0.80 s", "all services started at 3.40 s",
		"seconds since the kernel started", ">0.5<", ">4.0<", "Keel boot &lt;test&gt; &amp; co"} {
		if !strings.Contains(data, s) {
			t.Errorf("SVG lacks %q", s)
		}
	}
}

func TestChartBarsSkipStagesNotReachedAndClampUnfinishedSpans(t *testing.T) {
	bars := ChartBars(Timeline{PID1Start: 1, Spans: []Span{{Name: "service/b", Start: 3, End: 0}, {Name: "onboot/000-a", Start: 2, End: 2.5}}})
	want := []Bar{
		{"kernel", BarKernel, 0, 1},
		{"onboot/000-a", BarOnboot, 2, 2.5},
		{"service/b", BarService, 3, 3},
	}
	equalBars(t, bars, want)
}

func TestChartDrawsModuleLoadingAsAPID1BarInsideTheMountsStage(t *testing.T) {
	bars := ChartBars(Timeline{PID1Start: 1, MountsDone: 2, Spans: []Span{
		{Name: "onboot/000-a", Start: 2, End: 2.5}, {Name: "modules", Start: 1.2, End: 1.9},
	}})
	want := []Bar{
		{"kernel", BarKernel, 0, 1},
		{"PID 1: mounts, modules", BarPID1, 1, 2},
		{"PID 1: modules (coldplug)", BarPID1, 1.2, 1.9},
		{"onboot/000-a", BarOnboot, 2, 2.5},
	}
	equalBars(t, bars, want)
}

func equalBars(t *testing.T, got, want []Bar) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("bars %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("bar %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestNiceStepRoundsUpToOneTwoTwoAndAHalfOrFive(t *testing.T) {
	for raw, want := range map[float64]float64{0.09: 0.1, 0.3: 0.5, 0.42: 0.5, 1.1: 2, 2.2: 2.5, 7: 10, 0.25: 0.25} {
		if got := niceStep(raw); got < want-1e-12 || got > want+1e-12 {
			t.Errorf("niceStep(%v) = %v, want %v", raw, got, want)
		}
	}
}
