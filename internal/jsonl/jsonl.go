// Package jsonl is the line format of a cache export (session's Export
// and Import): one stored response or one alias a line, as JSON, with a
// format version. It knows nothing of how entries are keyed or stored.
package jsonl

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/reqcache/reqcache/stores"
)

// Version is the format version of the lines Write writes.
const Version = 1

// Line is one line of an export: an entry (Key set) or an alias (Alias
// set).
type Line struct {
	V int `json:"v"`
	// An entry.
	Key            string      `json:"key,omitempty"`
	Method         string      `json:"method,omitempty"`
	URL            string      `json:"url,omitempty"`
	RequestHeaders http.Header `json:"request_headers,omitempty"`
	Status         int         `json:"status,omitempty"`
	Headers        http.Header `json:"headers,omitempty"`
	// Body is the body when it is valid UTF-8; BodyBase64 otherwise.
	Body        *string    `json:"body,omitempty"`
	BodyBase64  *string    `json:"body_base64,omitempty"`
	RequestedAt *time.Time `json:"requested_at,omitempty"`
	CreatedAt   *time.Time `json:"created_at,omitempty"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"` // absent: never
	DiscardAt   *time.Time `json:"discard_at,omitempty"`
	Heuristic   bool       `json:"heuristic,omitempty"` // the lifetime is a heuristic (as before lifetime was written)
	Lifetime    string     `json:"lifetime,omitempty"`  // where the lifetime came from (stores.Lifetime)
	// An alias.
	Alias string  `json:"alias,omitempty"`
	Value *string `json:"value,omitempty"`
}

// Entry is the line of a stored response.
func Entry(e *stores.Entry) Line {
	l := Line{
		V: Version, Heuristic: e.Heuristic(), Lifetime: e.Lifetime.String(), Key: e.Key, Method: e.Method, URL: e.URL,
		RequestHeaders: e.RequestHeader, Status: e.StatusCode, Headers: e.Header,
		RequestedAt: timePtr(e.RequestedAt), CreatedAt: timePtr(e.CreatedAt),
		ExpiresAt: timePtr(e.ExpiresAt), DiscardAt: timePtr(e.DiscardAt),
	}
	if utf8.Valid(e.Body) {
		s := string(e.Body)
		l.Body = &s
	} else {
		s := base64.StdEncoding.EncodeToString(e.Body)
		l.BodyBase64 = &s
	}
	return l
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// Alias is the line of an alias.
func Alias(alias, value string) Line {
	v := value
	return Line{V: Version, Alias: alias, Value: &v}
}

// Write writes entries, sorted by URL, method and key, then aliases,
// sorted by name, one a line: the same cache always exports the same
// bytes. It sorts the slices it is given in place.
func Write(w io.Writer, entries []*stores.Entry, aliases []Line) error {
	slices.SortFunc(entries, func(a, b *stores.Entry) int {
		return cmp.Or(strings.Compare(a.URL, b.URL), strings.Compare(a.Method, b.Method), strings.Compare(a.Key, b.Key))
	})
	slices.SortFunc(aliases, func(a, b Line) int { return strings.Compare(a.Alias, b.Alias) })
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, e := range entries {
		if err := enc.Encode(Entry(e)); err != nil {
			return err
		}
	}
	for _, a := range aliases {
		if err := enc.Encode(a); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Read reads r's lines, each at most maxLine bytes, and calls fn with
// each line's number (from 1) and what it holds: an entry, or an alias and
// its value. It stops at the first line that cannot be read or parsed, or
// that fn refuses, and returns its number with the problem; an input
// without a line is an error too (line 1).
func Read(r io.Reader, maxLine int64, fn func(n int, e *stores.Entry, alias [2]string) error) (int, error) {
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		line, err := readLine(br, maxLine)
		if err == io.EOF && len(line) == 0 {
			if n == 1 {
				return 1, errors.New("empty input: nothing to import")
			}
			return 0, nil
		}
		if err != nil && err != io.EOF {
			return n, err
		}
		e, alias, perr := parse(line)
		if perr == nil {
			perr = fn(n, e, alias)
		}
		if perr != nil {
			return n, perr
		}
		if err == io.EOF {
			return 0, nil
		}
	}
}

// readLine reads one line without its newline; a line longer than max is
// an error.
func readLine(br *bufio.Reader, max int64) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if int64(len(line)) > max {
			return nil, fmt.Errorf("line longer than %d bytes", max)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == nil {
			return bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r")), nil
		}
		return line, err // io.EOF: a last line without a newline
	}
}

// parse reads one line: an entry, or an alias and its value.
func parse(line []byte) (*stores.Entry, [2]string, error) {
	var l Line
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return nil, [2]string{}, fmt.Errorf("not a JSON object of an export: %v", err)
	}
	if dec.More() {
		return nil, [2]string{}, errors.New("more than one JSON value on the line")
	}
	if l.V != Version {
		return nil, [2]string{}, fmt.Errorf("unknown version %d (this build reads %d)", l.V, Version)
	}
	switch {
	case l.Alias != "" && l.Key != "":
		return nil, [2]string{}, errors.New("both a key and an alias")
	case l.Alias != "":
		if l.Value == nil {
			return nil, [2]string{}, errors.New("an alias without a value")
		}
		return nil, [2]string{l.Alias, *l.Value}, nil
	case l.Key == "":
		return nil, [2]string{}, errors.New("neither a key nor an alias")
	}
	if l.Status < 100 || l.Status > 599 {
		return nil, [2]string{}, fmt.Errorf("status %d is not an HTTP status code", l.Status)
	}
	if l.Method == "" || l.URL == "" {
		return nil, [2]string{}, errors.New("an entry without its method or URL")
	}
	if l.CreatedAt == nil {
		return nil, [2]string{}, errors.New("an entry without created_at")
	}
	e := &stores.Entry{
		Key: l.Key, Method: l.Method, URL: l.URL, StatusCode: l.Status, Lifetime: stores.StoredLifetime(l.Lifetime, l.Heuristic),
		Header: l.Headers, RequestHeader: l.RequestHeaders,
	}
	if e.Header == nil {
		e.Header = http.Header{}
	}
	if e.RequestHeader == nil {
		e.RequestHeader = http.Header{}
	}
	switch {
	case l.Body != nil && l.BodyBase64 != nil:
		return nil, [2]string{}, errors.New("both body and body_base64")
	case l.Body != nil:
		e.Body = []byte(*l.Body)
	case l.BodyBase64 != nil:
		b, err := base64.StdEncoding.DecodeString(*l.BodyBase64)
		if err != nil {
			return nil, [2]string{}, fmt.Errorf("body_base64: %v", err)
		}
		e.Body = b
	}
	for _, t := range []struct {
		src *time.Time
		dst *time.Time
	}{{l.RequestedAt, &e.RequestedAt}, {l.CreatedAt, &e.CreatedAt}, {l.ExpiresAt, &e.ExpiresAt}, {l.DiscardAt, &e.DiscardAt}} {
		if t.src != nil {
			*t.dst = t.src.UTC()
		}
	}
	return e, [2]string{}, nil
}
