package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// table prints aligned columns.
type table struct{ w *tabwriter.Writer }

func newTable(w io.Writer) *table { return &table{tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)} }

func (t *table) row(cells ...string) { fmt.Fprintln(t.w, strings.Join(cells, "\t")) }

func (t *table) flush() error { return t.w.Flush() }

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeHeader prints header fields sorted by name, one value per line.
func writeHeader(w io.Writer, h http.Header) {
	names := make([]string, 0, len(h))
	for n := range h {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		for _, v := range h[n] {
			fmt.Fprintf(w, "%s: %s\n", n, v)
		}
	}
}

func stamp(t *time.Time) string { return t.Local().Format("2006-01-02 15:04:05") }

func expires(r row) string {
	switch {
	case r.ExpiresAt == nil:
		return "never"
	case r.Expired:
		return stamp(r.ExpiresAt) + " (expired)"
	}
	return stamp(r.ExpiresAt)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// previewBody returns the first limit bytes of body as text (cut at a
// character boundary), or binary = true when it is not text.
func previewBody(body []byte, limit int) (preview string, binary bool) {
	head := body[:min(limit, len(body))]
	for i := 0; i < utf8.UTFMax-1 && len(head) > 0 && len(body) > len(head) && !utf8.Valid(head); i++ {
		head = head[:len(head)-1] // a character cut in two by the limit
	}
	if !utf8.Valid(head) {
		return "", true
	}
	for _, r := range string(head) {
		if r < 0x20 && r != '\n' && r != '\r' && r != '\t' {
			return "", true
		}
	}
	return string(head), false
}
