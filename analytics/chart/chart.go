// Package chart draws a report as a PNG: mean time to acknowledge and to
// resolve per bucket as lines, incidents opened per bucket as bars, with
// github.com/wcharczuk/go-chart/v2 (pure Go, with its own embedded font,
// so the same report gives the same picture on every machine).
package chart

import (
	"bytes"
	"fmt"
	"math"
	"time"

	gochart "github.com/wcharczuk/go-chart/v2"
	"github.com/wcharczuk/go-chart/v2/drawing"

	"github.com/batonhq/baton/analytics"
	"github.com/batonhq/baton/internal/text"
)

// Default size of the chart in pixels.
const (
	Width  = 800
	Height = 400
)

var (
	colorMTTA = drawing.Color{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	colorMTTR = drawing.Color{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
	colorBars = drawing.Color{R: 0xc7, G: 0xcc, B: 0xd1, A: 0xff}
)

// PNG draws r at width × height pixels (0 means the default).
//
// Both axes share one numeric range: minutes on the left; on the right,
// incident counts scaled into it and labelled as counts. Buckets with no
// acknowledged (resolved) incident have no MTTA (MTTR) point; the line
// joins its neighbours.
func PNG(r analytics.Report, width, height int) ([]byte, error) {
	if width <= 0 {
		width = Width
	}
	if height <= 0 {
		height = Height
	}
	n := len(r.Buckets)
	var mtta, mttr [2][]float64 // x, y (minutes)
	maxMinutes, maxOpened := 0.0, 0
	for i, b := range r.Buckets {
		if b.MTTA.Count > 0 {
			mtta[0], mtta[1] = append(mtta[0], float64(i)), append(mtta[1], b.MTTA.Mean.Minutes())
			maxMinutes = math.Max(maxMinutes, b.MTTA.Mean.Minutes())
		}
		if b.MTTR.Count > 0 {
			mttr[0], mttr[1] = append(mttr[0], float64(i)), append(mttr[1], b.MTTR.Mean.Minutes())
			maxMinutes = math.Max(maxMinutes, b.MTTR.Mean.Minutes())
		}
		maxOpened = max(maxOpened, b.Opened)
	}
	minuteStep := niceStep(maxMinutes, 5, minuteSteps)
	top := minuteStep * math.Max(1, math.Ceil(maxMinutes/minuteStep))
	countStep := niceStep(float64(maxOpened), 5, countSteps)
	countTop := countStep * math.Max(1, math.Ceil(float64(maxOpened)/countStep))
	scale := top / countTop

	var yTicks, y2Ticks []gochart.Tick
	for v := 0.0; v <= top+1e-9; v += minuteStep {
		yTicks = append(yTicks, gochart.Tick{Value: v, Label: text.Duration(time.Duration(v * float64(time.Minute)))})
	}
	for v := 0.0; v <= countTop+1e-9; v += countStep {
		y2Ticks = append(y2Ticks, gochart.Tick{Value: math.Min(v*scale, top), Label: fmt.Sprintf("%.0f", v)})
	}
	// The x axis runs half a bucket beyond the first and last, so the bars
	// at the ends are whole; the two end ticks are there to say so.
	xTicks := []gochart.Tick{{Value: -0.5}}
	every := max(1, (n+11)/12)
	for i, b := range r.Buckets {
		label := ""
		if i%every == 0 {
			if t, err := time.Parse("2006-01-02", b.Label); err == nil {
				label = t.Format("2 Jan")
			}
		}
		xTicks = append(xTicks, gochart.Tick{Value: float64(i), Label: label})
	}
	xTicks = append(xTicks, gochart.Tick{Value: float64(n) - 0.5})

	// The bars' stroke is wide for the legend's sample; Render draws them with a thin one.
	bars := barSeries{name: "incidents opened", style: gochart.Style{FillColor: colorBars, StrokeColor: colorBars, StrokeWidth: 8}}
	for i, b := range r.Buckets {
		bars.x = append(bars.x, float64(i))
		bars.y = append(bars.y, float64(b.Opened)*scale)
	}
	line := func(name string, c drawing.Color, xy [2][]float64) gochart.Series {
		return gochart.ContinuousSeries{
			Name:    name,
			Style:   gochart.Style{StrokeColor: c, StrokeWidth: 2.5, DotColor: c, DotWidth: 3.5},
			XValues: xy[0], YValues: xy[1],
		}
	}
	series := []gochart.Series{bars}
	if len(mtta[0]) > 0 {
		series = append(series, line("MTTA (mean)", colorMTTA, mtta))
	}
	if len(mttr[0]) > 0 {
		series = append(series, line("MTTR (mean)", colorMTTR, mttr))
	}
	unit := "week"
	if r.By == analytics.ByDay {
		unit = "day"
	}
	title := fmt.Sprintf("Incidents, MTTA and MTTR per %s (%s)", unit, r.Zone)
	if r.Service != "" {
		title = fmt.Sprintf("%s: incidents, MTTA and MTTR per %s (%s)", r.Service, unit, r.Zone)
	}
	axis := gochart.Style{FontSize: 9, StrokeColor: drawing.ColorFromHex("999999"), FontColor: drawing.ColorFromHex("333333")}
	graph := gochart.Chart{
		Width:      width,
		Height:     height,
		Background: gochart.Style{Padding: gochart.Box{Top: 64, Left: 24, Right: 10, Bottom: 10}},
		XAxis:      gochart.XAxis{Style: axis, Ticks: xTicks},
		YAxis: gochart.YAxis{Name: "time", NameStyle: axis, Style: axis, Ticks: yTicks, Range: &gochart.ContinuousRange{Min: 0, Max: top},
			GridMajorStyle: gochart.Style{StrokeColor: drawing.ColorFromHex("e6e6e6"), StrokeWidth: 1}},
		YAxisSecondary: gochart.YAxis{Name: "incidents", NameStyle: axis, Style: axis, Ticks: y2Ticks, Range: &gochart.ContinuousRange{Min: 0, Max: top}},
		Series:         series,
	}
	graph.Elements = []gochart.Renderable{
		func(r gochart.Renderer, box gochart.Box, defaults gochart.Style) {
			gochart.Draw.Text(r, title, box.Left, 18, gochart.Style{FontSize: 12, FontColor: drawing.ColorFromHex("222222")}.InheritFrom(defaults))
		},
		gochart.LegendThin(&graph, gochart.Style{FontSize: 9}),
	}
	var buf bytes.Buffer
	if err := graph.Render(gochart.PNG, &buf); err != nil {
		return nil, fmt.Errorf("chart: %w", err)
	}
	return buf.Bytes(), nil
}

var (
	minuteSteps = []float64{1, 2, 5, 10, 15, 30, 60, 120, 180, 240, 360, 720, 1440, 2880, 7200, 14400}
	countSteps  = []float64{1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000}
)

// niceStep is the smallest of steps that divides max into at most n parts.
func niceStep(max float64, n int, steps []float64) float64 {
	for _, s := range steps {
		if max/s <= float64(n) {
			return s
		}
	}
	return steps[len(steps)-1] * math.Ceil(max/(steps[len(steps)-1]*float64(n)))
}

// barSeries draws one bar per x, 60% of a bucket wide, from 0 up.
type barSeries struct {
	name  string
	style gochart.Style
	x, y  []float64
}

var (
	_ gochart.Series         = barSeries{}
	_ gochart.ValuesProvider = barSeries{}
)

// GetName implements gochart.Series.
func (b barSeries) GetName() string { return b.name }

// GetStyle implements gochart.Series.
func (b barSeries) GetStyle() gochart.Style { return b.style }

// GetYAxis implements gochart.Series: bars are counts, on the secondary axis.
func (b barSeries) GetYAxis() gochart.YAxisType { return gochart.YAxisSecondary }

// Len implements gochart.ValuesProvider.
func (b barSeries) Len() int { return len(b.x) }

// GetValues implements gochart.ValuesProvider.
func (b barSeries) GetValues(i int) (float64, float64) { return b.x[i], b.y[i] }

// Validate implements gochart.Series.
func (b barSeries) Validate() error { return nil }

// Render implements gochart.Series: one box per bucket.
func (b barSeries) Render(r gochart.Renderer, box gochart.Box, xr, yr gochart.Range, defaults gochart.Style) {
	style := b.style.InheritFrom(defaults)
	style.StrokeWidth = 1
	half := int(math.Max(1, 0.3*float64(xr.GetDomain())/math.Max(1, xr.GetDelta())))
	y0 := box.Bottom - yr.Translate(0)
	for i := range b.x {
		x := box.Left + xr.Translate(b.x[i])
		y := box.Bottom - yr.Translate(b.y[i])
		if y >= y0 {
			continue
		}
		gochart.Draw.Box(r, gochart.Box{Top: y, Left: x - half, Right: x + half, Bottom: y0}, style)
	}
}
