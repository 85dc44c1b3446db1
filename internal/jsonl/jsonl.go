// Package jsonl is the line format of a cache export (session's Export
// and Import): one stored response or one alias a line, as JSON, with a
// format version. It knows nothing of how entries are keyed or stored.
package jsonl

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/reqcache/reqcache/stores"
)

// Version is the format version of the lines Encode writes.
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

// ReadLine reads one line without its newline; a line longer than max is
// an error.
func ReadLine(br *bufio.Reader, max int64) ([]byte, error) {
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

// Parse reads one line: an entry, or an alias and its value.
func Parse(line []byte) (*stores.Entry, [2]string, error) {
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
