package session

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/reqcache/reqcache/internal/cachekey"
	"github.com/reqcache/reqcache/stores"
)

// This file moves a cache in and out as JSON Lines: requests-cache's
// convert_cache and VCR cassettes, for fixtures, backups and moving between
// backends. Each line is one stored response, or one alias (a Vary index or
// redirect) that leads to exported responses. The credential key is never
// exported.

// ExportVersion is the format version of the lines Export writes.
const ExportVersion = 1

// exportLine is one line of an export: an entry (Key set) or an alias
// (Alias set).
type exportLine struct {
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
	// An alias.
	Alias string  `json:"alias,omitempty"`
	Value *string `json:"value,omitempty"`
}

// Export writes the stored responses f selects to w as JSON Lines, one
// response a line, sorted by URL, method and key, followed by the aliases
// that lead to them (Vary indexes and redirects), sorted; it returns how
// many responses it wrote. Credentials are as stored: redacted.
func (c *Cache) Export(ctx context.Context, w io.Writer, f Filter) (int, error) {
	var entries []*stores.Entry
	for r, err := range c.Responses(ctx, f) {
		if err != nil {
			return 0, err
		}
		entries = append(entries, r.Entry)
	}
	sort.Slice(entries, func(i, j int) bool {
		a, b := entries[i], entries[j]
		if a.URL != b.URL {
			return a.URL < b.URL
		}
		if a.Method != b.Method {
			return a.Method < b.Method
		}
		return a.Key < b.Key
	})
	exported := make(map[string]bool, len(entries))
	for _, e := range entries {
		exported[e.Key] = true
	}
	aliases, err := c.exportAliases(ctx, exported)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, e := range entries {
		if err := enc.Encode(lineOf(e)); err != nil {
			return 0, err
		}
	}
	for _, a := range aliases {
		if err := enc.Encode(a); err != nil {
			return 0, err
		}
	}
	return len(entries), bw.Flush()
}

// exportAliases lists the aliases that lead to an exported key, sorted.
func (c *Cache) exportAliases(ctx context.Context, exported map[string]bool) ([]exportLine, error) {
	sc, ok := c.s.raw.(stores.AliasScanner)
	if !ok {
		return nil, nil // the variants stored under their primary key still export
	}
	var out []exportLine
	err := sc.ScanAliases(ctx, func(alias, value string) bool {
		if alias == CredentialKeyAlias {
			return true // a secret: never exported
		}
		if leadsTo(value, exported) {
			v := value
			out = append(out, exportLine{V: ExportVersion, Alias: alias, Value: &v})
		}
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Alias < out[j].Alias })
	return out, err
}

// leadsTo reports whether an alias value (a Vary index, a redirect, or a
// language's variant key) names an exported key.
func leadsTo(value string, exported map[string]bool) bool {
	if exported[value] {
		return true
	}
	if t, ok := strings.CutPrefix(value, aliasRedirect); ok {
		return exported[t]
	}
	if idx, ok := decodeVaryIndex(value); ok {
		for _, k := range idx.variants {
			if exported[k] {
				return true
			}
		}
	}
	return false
}

func lineOf(e *stores.Entry) exportLine {
	l := exportLine{
		V: ExportVersion, Key: e.Key, Method: e.Method, URL: e.URL,
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

// ImportError is Import's error for a line it cannot read: nothing was
// imported.
type ImportError struct {
	Line int // 1-based
	Err  error
}

func (e *ImportError) Error() string {
	return fmt.Sprintf("reqcache: import: line %d: %v", e.Line, e.Err)
}

// Unwrap returns the problem with the line.
func (e *ImportError) Unwrap() error { return e.Err }

// ImportOption changes how Import reads its input.
type ImportOption func(*importOptions)

type importOptions struct{ trustKeys bool }

// TrustKeys makes Import keep the key a line names when the line's request
// cannot be keyed again (an entry keyed by its credentials under
// separate_credentials, by a request body, or by a custom key function),
// and import the lines' aliases as they are: for files from this cache, or
// from one sharing its credential key (`reqcache import -trust-keys`). A
// line's key decides which requests the entry answers: from a file that is
// not trusted, such a line is an error.
func TrustKeys() ImportOption { return func(o *importOptions) { o.trustKeys = true } }

// Import reads what Export writes and stores it, so that imported
// responses answer the same requests. Each entry is keyed again from the
// request its line records (method, URL, Host, matched headers), through
// the same door as a response just received: a line whose key is not its
// request's is an error unless TrustKeys (a forged line could otherwise
// answer another URL's requests). The Vary index and language aliases are
// rebuilt from the entries; alias lines are read only with TrustKeys.
// Every line is checked before anything is stored: a malformed line, an
// unknown version, a key that does not match or an empty input is an
// *ImportError naming the line, and the cache is left as it was. Responses
// stored with credentials under separate_credentials match only in a store
// with the same credential key (the one the source store kept); elsewhere
// they are misses. It returns how many responses it stored.
func (c *Cache) Import(ctx context.Context, r io.Reader, opts ...ImportOption) (int, error) {
	var o importOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	p := c.s.policy.Load()
	maxLine := 2*p.MaxBodyBytes + 1<<20 // a body in base64, and the rest
	br := bufio.NewReader(r)
	type imported struct {
		e      *stores.Entry
		x      *exchange // the request it records, keyed
		names  []string
		rekeys bool // its key was derived from its request
	}
	var entries []imported
	var aliases [][2]string
	for n := 1; ; n++ {
		line, err := readLine(br, maxLine)
		if err == io.EOF && len(line) == 0 {
			if n == 1 {
				return 0, &ImportError{Line: 1, Err: errors.New("empty input: nothing to import")}
			}
			break
		}
		if err != nil && err != io.EOF {
			return 0, &ImportError{Line: n, Err: err}
		}
		e, alias, perr := parseLine(line)
		if perr != nil {
			return 0, &ImportError{Line: n, Err: perr}
		}
		if e != nil {
			x, names, derived, kerr := c.s.rekey(p, e)
			if kerr != nil {
				return 0, &ImportError{Line: n, Err: kerr}
			}
			if !derived && !o.trustKeys {
				return 0, &ImportError{Line: n, Err: errors.New("its key is not the key of the request it records: an entry keyed by credentials, a request body or a custom key function imports only when the file is trusted (session.TrustKeys, reqcache import -trust-keys)")}
			}
			entries = append(entries, imported{e: e, x: x, names: names, rekeys: derived})
		} else if o.trustKeys {
			aliases = append(aliases, alias)
		}
		if err == io.EOF {
			break
		}
	}
	for i, im := range entries {
		if err := c.s.store.Set(ctx, im.e); err != nil {
			return i, fmt.Errorf("reqcache: import: storing %s %s: %w", im.e.Method, im.e.URL, err)
		}
		if im.rekeys && im.e.Key != im.x.key {
			f := found{indexed: true}
			c.s.indexVariant(ctx, im.x, f, im.names, im.e.Key, im.e.Header)
		}
	}
	for _, a := range aliases {
		if err := c.s.store.SetAlias(ctx, a[0], a[1]); err != nil {
			return len(entries), fmt.Errorf("reqcache: import: storing alias %s: %w", a[0], err)
		}
	}
	return len(entries), nil
}

// rekey derives an imported entry's key and resource from the request its
// line records: derived reports that the line's key is that key (a
// variant's when the response varies). The entry's URIKey is set in any
// case: it comes from the URL, never from the line.
func (s *Session) rekey(p *policy, e *stores.Entry) (x *exchange, names []string, derived bool, err error) {
	u, err := url.Parse(e.URL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, nil, false, fmt.Errorf("url %q is not an absolute URL", e.URL)
	}
	req := &http.Request{Method: e.Method, URL: u, Header: e.RequestHeader.Clone(), Host: u.Host}
	if h := req.Header.Get("Host"); h != "" {
		req.Host = h
		req.Header.Del("Host")
	}
	req = req.WithContext(context.Background())
	x = &exchange{req: req, p: p}
	x.key = s.keyFor(p, req, nil)
	e.URIKey = x.uriKey()
	names, _ = cachekey.VaryNames(e.Header)
	want := x.key
	if len(names) > 0 {
		want = p.keys.VariantKey(x.key, names, req.Header)
	}
	return x, names, e.Key == want, nil
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

// parseLine reads one line: an entry, or an alias and its value.
func parseLine(line []byte) (*stores.Entry, [2]string, error) {
	var l exportLine
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return nil, [2]string{}, fmt.Errorf("not a JSON object of an export: %v", err)
	}
	if dec.More() {
		return nil, [2]string{}, errors.New("more than one JSON value on the line")
	}
	if l.V != ExportVersion {
		return nil, [2]string{}, fmt.Errorf("unknown version %d (this build reads %d)", l.V, ExportVersion)
	}
	switch {
	case l.Alias != "" && l.Key != "":
		return nil, [2]string{}, errors.New("both a key and an alias")
	case l.Alias != "":
		if l.Value == nil {
			return nil, [2]string{}, errors.New("an alias without a value")
		}
		if l.Alias == CredentialKeyAlias {
			return nil, [2]string{}, errors.New("the credential key is never imported")
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
		Key: l.Key, Method: l.Method, URL: l.URL, StatusCode: l.Status,
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
