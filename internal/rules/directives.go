// Package rules holds the pure HTTP caching rules reqcache applies (RFC
// 9111, with requests-cache's settings): Cache-Control and Pragma parsing,
// ages and freshness, how long a new response is fresh and whether it may be
// stored, and what to do with a stored response for a request. It does no
// I/O and knows no store and no session: each rule is a function of
// headers, times and settings, table-tested in the order of the RFC's
// sections.
package rules

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Directives is a parsed Cache-Control header (RFC 9111 §5.2). Parsing is
// kept apart from deciding: this file only reads headers; the other files
// decide. A duration of -1 means the directive is absent.
type Directives struct {
	MaxAge               time.Duration
	SMaxAge              time.Duration
	MaxStale             time.Duration // request; MaxStaleAny when given without a value
	MinFresh             time.Duration
	StaleIfError         time.Duration
	StaleWhileRevalidate time.Duration
	NoCache              bool
	NoStore              bool
	MustRevalidate       bool
	ProxyRevalidate      bool
	Private              bool
	Public               bool
	Immutable            bool
	OnlyIfCached         bool
	NoTransform          bool
	MustUnderstand       bool
	// NoCacheFields: no-cache named fields of a qualified no-cache="..."
	// (treated as plain no-cache: the safe reading for a private cache).
	NoCacheFields bool
}

// MaxStaleAny is max-stale given without a value: any staleness is accepted.
const MaxStaleAny = time.Duration(1<<63 - 1)

// Absent is the Directives of a message without Cache-Control.
func Absent() Directives {
	return Directives{MaxAge: -1, SMaxAge: -1, MaxStale: -1, MinFresh: -1, StaleIfError: -1, StaleWhileRevalidate: -1}
}

// Parse reads every Cache-Control field line of h. Unknown
// directives are ignored; a malformed delta-seconds makes the directive
// count as present with the safest value (RFC 9111 §4.2.1: an invalid
// max-age is stale).
func Parse(h http.Header) Directives {
	d := Absent()
	for _, line := range h.Values("Cache-Control") {
		for line != "" {
			var part string
			part, line = splitDirective(line)
			name, value, hasValue := strings.Cut(part, "=")
			name = strings.ToLower(strings.TrimSpace(name))
			value = strings.TrimSpace(value)
			if hasValue && len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
				value = value[1 : len(value)-1]
			}
			switch name {
			case "max-age":
				d.MaxAge = firstOrStale(d.MaxAge, deltaSeconds(value, hasValue, 0))
			case "s-maxage":
				d.SMaxAge = firstOrStale(d.SMaxAge, deltaSeconds(value, hasValue, 0))
			case "max-stale":
				if !hasValue {
					d.MaxStale = MaxStaleAny
				} else {
					d.MaxStale = deltaSeconds(value, true, 0)
				}
			case "min-fresh":
				d.MinFresh = deltaSeconds(value, hasValue, 0)
			case "stale-if-error":
				d.StaleIfError = deltaSeconds(value, hasValue, -1)
			case "stale-while-revalidate":
				d.StaleWhileRevalidate = deltaSeconds(value, hasValue, -1)
			case "no-cache":
				d.NoCache = true
				d.NoCacheFields = hasValue
			case "no-store":
				d.NoStore = true
			case "must-revalidate":
				d.MustRevalidate = true
			case "proxy-revalidate":
				d.ProxyRevalidate = true
			case "private":
				d.Private = true
			case "public":
				d.Public = true
			case "immutable":
				d.Immutable = true
			case "only-if-cached":
				d.OnlyIfCached = true
			case "no-transform":
				d.NoTransform = true
			case "must-understand":
				d.MustUnderstand = true
			}
		}
	}
	return d
}

// firstOrStale combines a lifetime directive seen again with what was seen
// before (-1: nothing): the same value stands, a conflicting one makes the
// response stale (RFC 9111 §4.2.1: a cache may use the first or treat the
// response as stale; stale is the safe reading).
func firstOrStale(prev, next time.Duration) time.Duration {
	if prev < 0 || prev == next {
		return next
	}
	return 0
}

// splitDirective returns the first comma-separated directive of s and the
// rest, honouring quoted strings (no-cache="a, b").
func splitDirective(s string) (string, string) {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			inQuote = !inQuote
		case '\\':
			if inQuote {
				i++
			}
		case ',':
			if !inQuote {
				return strings.TrimSpace(s[:i]), s[i+1:]
			}
		}
	}
	return strings.TrimSpace(s), ""
}

// deltaSeconds parses a delta-seconds value. Values too large for a
// time.Duration saturate (RFC 9111 §1.2.2: 2^31 at least must be accepted).
// A missing or malformed value yields invalid.
func deltaSeconds(v string, hasValue bool, invalid time.Duration) time.Duration {
	if !hasValue || v == "" {
		return invalid
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return invalid
		}
	}
	n, err := strconv.ParseUint(v, 10, 63)
	if err != nil || n > uint64(MaxStaleAny/time.Second) {
		return MaxStaleAny / time.Second * time.Second
	}
	return time.Duration(n) * time.Second
}

// httpDateLayouts are RFC 9110 §5.6.7's three date formats.
var httpDateLayouts = []string{http.TimeFormat, time.RFC850, time.ANSIC}

// ParseHTTPDate parses the three HTTP date formats (RFC 9110 §5.6.7:
// IMF-fixdate, RFC 850, asctime), strictly but for the case of day and
// month names and of GMT, and for the day of the week, which the date
// already determines (origins get it wrong; it is ignored): a value that
// does not otherwise format back to itself (extra spaces, a one-digit
// hour, another zone) is invalid, which for Expires means already stale
// (RFC 9111 §5.3).
func ParseHTTPDate(v string) (time.Time, bool) {
	if v == "" {
		return time.Time{}, false
	}
	if t, ok := parseIMFFixdate(v); ok {
		return t, true
	}
	if c := canonicalDateCase(v); c != v {
		if t, ok := parseIMFFixdate(c); ok {
			return t, true
		}
		v = c
	}
	return parseHTTPDateLayouts(v)
}

// parseHTTPDateLayouts is ParseHTTPDate through time.Parse and the
// format-back check, for every format.
func parseHTTPDateLayouts(v string) (time.Time, bool) {
	var buf [64]byte // the format-back check stays off the heap
	for _, layout := range httpDateLayouts {
		t, err := time.Parse(layout, v)
		if err == nil && sameBesideWeekday(t.AppendFormat(buf[:0], layout), v) {
			return t, true
		}
	}
	return time.Time{}, false
}

// parseIMFFixdate reads the one format origins send ("Sun, 06 Nov 1994
// 08:49:37 GMT", names in canonical case) by hand, accepting exactly what
// parseHTTPDateLayouts accepts in that form (FuzzIMFFixdateFastPath): a hit
// reads Date on every answer (BenchmarkParseHTTPDate compares the two).
func parseIMFFixdate(v string) (time.Time, bool) {
	if len(v) != 29 || v[3] != ',' || v[4] != ' ' || v[7] != ' ' || v[11] != ' ' || v[16] != ' ' ||
		v[19] != ':' || v[22] != ':' || v[25:] != " GMT" || !isDayName(v[:3]) {
		return time.Time{}, false
	}
	month := monthOf(v[8:11])
	day, ok1 := decimal(v[5:7])
	year, ok2 := decimal(v[12:16])
	hour, ok3 := decimal(v[17:19])
	minute, ok4 := decimal(v[20:22])
	sec, ok5 := decimal(v[23:25])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || month == 0 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	if day > daysIn(month, year) { // 31 Apr, 29 Feb 2021
		return time.Time{}, false
	}
	secs := daysSinceEpoch(year, month, day)*86400 + int64(hour*3600+minute*60+sec)
	return time.Unix(secs, 0).UTC(), true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysSinceEpoch counts the days from 1970-01-01 to a proleptic Gregorian
// date (Howard Hinnant's days_from_civil).
func daysSinceEpoch(year, month, day int) int64 {
	y := int64(year)
	if month <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := int64((month + 9) % 12)
	doy := (153*mp+2)/5 + int64(day) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// isDayName and monthOf compare three letters as one number: a search
// of the names by string took half of parseIMFFixdate's time on a hit.
func isDayName(s string) bool {
	switch name3(s) {
	case name3("Mon"), name3("Tue"), name3("Wed"), name3("Thu"), name3("Fri"), name3("Sat"), name3("Sun"):
		return true
	}
	return false
}

// monthOf is 1 for "Jan" … 12 for "Dec", 0 for anything else.
func monthOf(s string) int {
	switch name3(s) {
	case name3("Jan"):
		return 1
	case name3("Feb"):
		return 2
	case name3("Mar"):
		return 3
	case name3("Apr"):
		return 4
	case name3("May"):
		return 5
	case name3("Jun"):
		return 6
	case name3("Jul"):
		return 7
	case name3("Aug"):
		return 8
	case name3("Sep"):
		return 9
	case name3("Oct"):
		return 10
	case name3("Nov"):
		return 11
	case name3("Dec"):
		return 12
	}
	return 0
}

func name3(s string) uint32 { return uint32(s[0])<<16 | uint32(s[1])<<8 | uint32(s[2]) }

// decimal reads a fixed number of ASCII digits.
func decimal(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// sameBesideWeekday compares a date formatted back with the one parsed,
// ignoring the day name each format starts with.
func sameBesideWeekday(formatted []byte, v string) bool {
	if i := bytes.IndexByte(formatted, ' '); i >= 0 {
		formatted = formatted[i:]
	}
	if i := strings.IndexByte(v, ' '); i >= 0 {
		v = v[i:]
	}
	return string(formatted) == v
}

// canonicalDateCase writes the names in a date as the formats spell them
// ("sun" and "SUN" as "Sun", "gmt" as "GMT"), so that only the case of
// names is forgiven; anything else still has to match exactly. A date
// already in that case is returned as it is, without allocating.
func canonicalDateCase(v string) string {
	var b []byte
	for i := 0; i < len(v); {
		j := i
		for j < len(v) && isASCIILetter(v[j]) {
			j++
		}
		gmt := j-i == 3 && strings.EqualFold(v[i:j], "GMT")
		for k := i; k < j; k++ {
			want := v[k] | 0x20 // lower case
			if k == i || gmt {
				want = v[k] &^ 0x20
			}
			if want != v[k] {
				if b == nil {
					b = []byte(v)
				}
				b[k] = want
			}
		}
		i = max(j, i+1)
	}
	if b == nil {
		return v
	}
	return string(b)
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// ParseAge reads an Age header: the first valid non-negative integer, or 0.
func ParseAge(h http.Header) time.Duration {
	v := h.Get("Age")
	if v == "" {
		return 0
	}
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	d := deltaSeconds(strings.TrimSpace(v), true, 0)
	if d < 0 {
		return 0
	}
	return d
}

// PragmaNoCache reports a request's Pragma: no-cache, which counts as
// Cache-Control: no-cache when the request has no Cache-Control.
func PragmaNoCache(h http.Header) bool {
	if len(h.Values("Cache-Control")) > 0 {
		return false
	}
	for _, v := range h.Values("Pragma") {
		if strings.Contains(strings.ToLower(v), "no-cache") {
			return true
		}
	}
	return false
}

// IsUpgrade reports a request asking to switch protocols (RFC 9110 §7.8):
// its answer is a live connection, never a response to keep.
func IsUpgrade(h http.Header) bool {
	for _, v := range h["Connection"] {
		for v != "" {
			var tok string
			tok, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
				return true
			}
		}
	}
	return false
}
