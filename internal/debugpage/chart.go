package debugpage

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// chart is the overview's picture of the last minutes, drawn on the
// server as SVG (the page runs no script): a bar per interval for its
// requests per second, a line for its hit ratio.
type chart struct {
	Width, Height int
	Bars          []bar
	Line          string // polyline points
	PeakRate      float64
	Minutes       int
	Every         time.Duration
	// Full: the samples span the whole window; until then the chart
	// spreads what it has (at least a minute's slots) over its width.
	Full bool
}

// minSlots is the fewest slots the chart divides its width into: a
// minute, so that the first bars are not the whole width.
const minSlots = int(time.Minute / SampleEvery)

type bar struct {
	X, Y, W, H float64
	Title      string
}

func chartOf(samples []Sample) chart {
	c := chart{Width: 600, Height: 120, Every: SampleEvery, Minutes: int(SampleEvery * samplesKept / time.Minute)}
	for _, s := range samples {
		c.PeakRate = max(c.PeakRate, s.PerSecond())
	}
	// As many slots as samples (a minute's at least), up to the window:
	// a page opened a minute after the program started shows that
	// minute across its width, not a strip at its right edge.
	slots := min(max(len(samples), minSlots), samplesKept)
	c.Full = len(samples) >= samplesKept
	slot := float64(c.Width) / float64(slots)
	// The newest interval at the right edge, as a scrolling strip chart.
	x0 := float64(c.Width) - slot*float64(len(samples))
	var line []string
	lastX, lastY := 0.0, 0.0
	for i, s := range samples {
		x := x0 + slot*float64(i)
		h := 0.0
		if c.PeakRate > 0 {
			h = float64(c.Height-4) * s.PerSecond() / c.PeakRate
		}
		title := fmt.Sprintf("%s: %d requests, %.1f/s", s.At.UTC().Format("15:04:05"), s.Requests, s.PerSecond())
		ratio, ok := s.HitRatio()
		if ok {
			title += fmt.Sprintf(", hit ratio %.0f%%", 100*ratio)
			y := 2 + float64(c.Height-4)*(1-ratio)
			line = append(line, point(x+slot/2, y))
			lastX, lastY = x, y
		}
		c.Bars = append(c.Bars, bar{X: x + 0.5, Y: float64(c.Height) - h, W: max(slot-1, 1), H: h, Title: title})
	}
	if len(line) == 1 { // a single point draws nothing: make it a dash across its slot
		line = []string{point(lastX, lastY), point(lastX+slot, lastY)}
	}
	c.Line = strings.Join(line, " ")
	return c
}

func point(x, y float64) string {
	return strconv.FormatFloat(x, 'f', 1, 64) + "," + strconv.FormatFloat(y, 'f', 1, 64)
}
