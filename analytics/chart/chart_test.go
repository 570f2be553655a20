package chart_test

import (
	"bytes"
	"context"
	"flag"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/batonhq/baton/analytics"
	"github.com/batonhq/baton/analytics/analyticstest"
	"github.com/batonhq/baton/analytics/chart"
)

var update = flag.Bool("update", false, "rewrite testdata/*.png")

func render(t *testing.T, q func(*analytics.Query), w, h int) []byte {
	t.Helper()
	fx := analyticstest.Load(t)
	query := fx.Query()
	if q != nil {
		q(&query)
	}
	r, err := analytics.Build(context.Background(), fx.Facts(), query)
	if err != nil {
		t.Fatal(err)
	}
	b, err := chart.PNG(r, w, h)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the chart is not a PNG: %v", err)
	}
	return img
}

// The fixture's weekly chart is a golden picture. Pixels are compared, not
// bytes, so a change in the PNG encoder's compression does not matter; a
// change in the drawing does. After a deliberate change, run
// `go test ./analytics/chart -update`, look at testdata/*.png and commit them.
func TestChartGolden(t *testing.T) {
	tests := []struct {
		name string
		q    func(*analytics.Query)
		w, h int
	}{
		{"weekly.png", nil, 0, 0},
		{"daily-web.png", func(q *analytics.Query) { q.By, q.Service = analytics.ByDay, "web" }, 1000, 360},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := render(t, tc.q, tc.w, tc.h)
			img := decode(t, b)
			wantW, wantH := tc.w, tc.h
			if wantW == 0 {
				wantW, wantH = chart.Width, chart.Height
			}
			if got := img.Bounds().Size(); got != image.Pt(wantW, wantH) {
				t.Fatalf("size = %v, want %dx%d", got, wantW, wantH)
			}
			path := filepath.Join("testdata", tc.name)
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if n := differentPixels(img, decode(t, raw)); n > 0 {
				out := filepath.Join(t.TempDir(), tc.name)
				_ = os.WriteFile(out, b, 0o644)
				t.Errorf("%d pixels differ from %s; the new picture is %s (run go test -update after a deliberate change)", n, path, out)
			}
		})
	}
}

func differentPixels(a, b image.Image) int {
	if a.Bounds() != b.Bounds() {
		return a.Bounds().Dx() * a.Bounds().Dy()
	}
	n := 0
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				n++
			}
		}
	}
	return n
}

// A period with nothing in it still draws: axes, no lines, no bars.
func TestChartEmpty(t *testing.T) {
	fx := analyticstest.Load(t)
	q := fx.Query()
	q.From, q.To = q.From.AddDate(1, 0, 0), q.To.AddDate(1, 0, 0)
	r, err := analytics.Compute(q, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := chart.PNG(r, 400, 200)
	if err != nil {
		t.Fatal(err)
	}
	if got := decode(t, b).Bounds().Size(); got != image.Pt(400, 200) {
		t.Errorf("size = %v", got)
	}
}

// BenchmarkPNG draws the chart of a 90-day report by week (13 buckets) and
// of a 7-day one by day: the drawing /incident stats and the digest add to
// the report itself.
func BenchmarkPNG(b *testing.B) {
	fx := analyticstest.Load(b)
	for _, tc := range []struct {
		name string
		days int
		by   analytics.Granularity
	}{{"90d-by-week", 90, analytics.ByWeek}, {"7d-by-day", 7, analytics.ByDay}} {
		b.Run(tc.name, func(b *testing.B) {
			q := fx.Query()
			q.From, q.By = q.To.AddDate(0, 0, -tc.days), tc.by
			r, err := analytics.Build(context.Background(), fx.Facts(), q)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := chart.PNG(r, 0, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
