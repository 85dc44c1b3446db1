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

// table aligns columns for people; scripts use -json instead of parsing it.
type table struct{ w *tabwriter.Writer }

// newTable uses two spaces between columns, readable and easy to cut.
func newTable(w io.Writer) *table { return &table{tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)} }

func (t *table) row(cells ...string) { fmt.Fprintln(t.w, strings.Join(cells, "\t")) }

func (t *table) flush() error { return t.w.Flush() }

// writeJSON indents, so that the same document serves scripts (jq) and
// people reading it.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // URLs with & stay readable
	return enc.Encode(v)
}

// writeHeader prints header fields sorted by name, one value per line, so
// that two responses can be compared by eye or with diff.
func writeHeader(w io.Writer, indent string, h http.Header) {
	names := make([]string, 0, len(h))
	for n := range h {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		for _, v := range h[n] {
			fmt.Fprintf(w, "%s%s: %s\n", indent, n, v)
		}
	}
}

// stamp shows times in the operator's zone, to the second: tables need no
// more, and -json has the exact value.
func stamp(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") }

// expiresText reads "never" rather than a zero time, and flags expired
// responses so that the column alone tells which are stale.
func expiresText(r row) string {
	switch {
	case r.ExpiresAt == nil:
		return "never"
	case r.Expired:
		return stamp(*r.ExpiresAt) + " (expired)"
	}
	return stamp(*r.ExpiresAt)
}

// humanBytes keeps the size column short.
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

// plural keeps "removed 1 response" grammatical for people reading logs.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// previewBody returns the first limit bytes of body as text (cut at a
// character boundary), or binary = true when the body is not text, so that
// show never writes control bytes to a terminal.
func previewBody(body []byte, limit int) (preview string, binary bool) {
	sniff := body[:min(len(body), max(limit, 512))]
	head := body[:min(limit, len(body))]
	if !isText(sniff, len(sniff) < len(body)) {
		return "", true
	}
	for i := 0; i < utf8.UTFMax-1 && len(head) > 0 && !utf8.Valid(head); i++ {
		head = head[:len(head)-1] // a character cut in two by the limit
	}
	return string(head), false
}

// isText reports whether b is UTF-8 text without control characters other
// than whitespace; cut says b is the start of a longer body, so an
// incomplete last character is not held against it.
func isText(b []byte, cut bool) bool {
	for i := 0; i < utf8.UTFMax-1 && cut && len(b) > 0 && !utf8.Valid(b); i++ {
		b = b[:len(b)-1]
	}
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if r < 0x20 && r != '\n' && r != '\r' && r != '\t' || r == 0x7f {
			return false
		}
	}
	return true
}
