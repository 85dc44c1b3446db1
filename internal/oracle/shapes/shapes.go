// Package shapes is the corpus of request shapes that real SDKs send: the
// tests in clients/ record, for every request an SDK makes to their
// local origins, its method, the names of its headers and query
// parameters with the shape of each value (a date, an id, a byte range, an
// auth scheme, a credential, a literal), and its body's media type. The
// model test's generator draws requests of those shapes with its own
// values and principals, so that every SDK added to clients/ widens what
// the model test hunts (a credential in a place the keys do not know, a
// header that selects part of a body).
//
// Refresh the corpus with scripts/sdk-shapes.sh after adding or upgrading
// an SDK; the clients tests fail while it misses a shape they saw.
package shapes

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Shape is one kind of request an SDK sends.
type Shape struct {
	SDK    string            `json:"sdk"`
	Method string            `json:"method"`
	Header map[string]string `json:"header,omitempty"` // canonical name → value class
	Query  map[string]string `json:"query,omitempty"`  // name → value class
	Body   string            `json:"body,omitempty"`   // media type, "" for none
}

// The value classes. A literal is written "=VALUE".
const (
	Secret    = "secret"           // a credential the SDK was configured with (or derived from one)
	GoogleKey = "secret:googlekey" // a credential of Google's API key shape: "AIza" and 35 more
	AuthPre   = "auth:"            // an Authorization scheme: "auth:Bearer", "auth:SharedKey", ...
	HTTPDate  = "http-date"
	ISOBasic  = "iso-basic" // 20260101T000000Z (SigV4's dates)
	RFC3339   = "rfc3339"
	UUID      = "uuid"
	Range     = "range" // bytes=first-last
	Number    = "number"
	ETag      = "etag"  // a quoted entity tag (If-None-Match, If-Match)
	Token     = "token" // an opaque value that is no credential (a hash, a request id)
	Text      = "text"  // anything else
)

// unshaped are headers the transport or the SDK's plumbing sets, whose
// shape tells the generator nothing (or is the body's: Content-Type).
var unshaped = map[string]bool{
	"Accept-Encoding": true, "Content-Length": true, "User-Agent": true, "Connection": true,
	"Content-Type": true, "Expect": true,
}

var (
	googleKey = regexp.MustCompile(`^AIza[0-9A-Za-z_-]{35}$`)
	uuidRE    = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	isoBasic  = regexp.MustCompile(`^\d{8}T\d{6}Z$`)
	number    = regexp.MustCompile(`^\d+$`)
)

// Of is the shape of r, sent by sdk; secrets are the credentials the test
// configured the SDK with (and any it derived, such as a SAS signature):
// a value holding one is a credential.
func Of(sdk string, r *http.Request, secrets []string) Shape {
	s := Shape{SDK: sdk, Method: r.Method}
	for name, vs := range r.Header {
		if unshaped[name] || len(vs) == 0 {
			continue
		}
		if s.Header == nil {
			s.Header = map[string]string{}
		}
		s.Header[name] = classify(name, vs[0], secrets)
	}
	for name, vs := range r.URL.Query() {
		if len(vs) == 0 {
			continue
		}
		if s.Query == nil {
			s.Query = map[string]string{}
		}
		s.Query[name] = classify(name, vs[0], secrets)
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && r.ContentLength != 0 {
		s.Body, _, _ = strings.Cut(ct, ";")
		s.Body = strings.ToLower(strings.TrimSpace(s.Body))
	}
	return s
}

// classify names the shape of one header or query value.
func classify(name, v string, secrets []string) string {
	if strings.EqualFold(name, "Authorization") || strings.EqualFold(name, "Proxy-Authorization") {
		scheme, _, _ := strings.Cut(strings.TrimSpace(v), " ")
		return AuthPre + scheme
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(v, s) {
			if googleKey.MatchString(v) {
				return GoogleKey
			}
			return Secret
		}
	}
	switch {
	case googleKey.MatchString(v):
		return GoogleKey
	case strings.HasPrefix(v, "bytes="):
		return Range
	case uuidRE.MatchString(v):
		return UUID
	case isoBasic.MatchString(v):
		return ISOBasic
	case number.MatchString(v):
		return Number
	case strings.HasPrefix(v, `"`) || strings.HasPrefix(v, `W/"`):
		return ETag
	case strings.Contains(v, "go1.") || strings.Contains(v, "go=1."):
		return Text // it holds the machine's Go version
	}
	if _, err := time.Parse(http.TimeFormat, v); err == nil {
		return HTTPDate
	}
	if _, err := time.Parse(time.RFC3339, v); err == nil {
		return RFC3339
	}
	digits, lower, upper := 0, 0, 0
	for _, c := range v {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'a' && c <= 'z':
			lower++
		case c >= 'A' && c <= 'Z':
			upper++
		}
	}
	// A hash, an id, a random key (a websocket key may hold no digit):
	// digits among letters, or upper and lower case mixed.
	opaque := (digits >= 4 && lower+upper >= 4) || (lower >= 3 && upper >= 3)
	switch {
	case len(v) >= 16 && opaque && !strings.ContainsAny(v, " ,;"):
		return Token
	case len(v) <= 40 && !strings.ContainsAny(v, " \t"):
		return "=" + v
	}
	return Text
}

// Key is a shape's identity, for sets of shapes.
func (s Shape) Key() string {
	b, _ := json.Marshal(s) // maps marshal sorted
	return string(b)
}

// HasCredential reports a shape carrying a credential (a secret value or
// an Authorization scheme): a request of it speaks for a principal.
func (s Shape) HasCredential() bool {
	for _, c := range s.Header {
		if isCredential(c) {
			return true
		}
	}
	for _, c := range s.Query {
		if isCredential(c) {
			return true
		}
	}
	return false
}

// IsCredential reports a value class that holds a credential.
func IsCredential(class string) bool { return isCredential(class) }

func isCredential(class string) bool {
	return class == Secret || class == GoogleKey || strings.HasPrefix(class, AuthPre)
}

//go:embed corpus.json
var corpusJSON []byte

// Corpus is the recorded corpus, sorted by SDK then identity.
func Corpus() []Shape {
	var out []Shape
	if err := json.Unmarshal(corpusJSON, &out); err != nil {
		panic("shapes: corpus.json: " + err.Error()) // a file in the repository: a test catches it
	}
	return out
}

// Encode is a corpus as corpus.json holds it: sorted, one shape a line,
// so that a refresh shows as a readable diff.
func Encode(shapes []Shape) []byte {
	seen := map[string]bool{}
	var lines []string
	for _, s := range shapes {
		if k := s.Key(); !seen[k] {
			seen[k] = true
			lines = append(lines, k)
		}
	}
	sort.Strings(lines)
	return []byte("[\n" + strings.Join(lines, ",\n") + "\n]\n")
}
