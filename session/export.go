package session

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/reqcache/reqcache/internal/cachekey"
	"github.com/reqcache/reqcache/internal/jsonl"
	"github.com/reqcache/reqcache/stores"
)

// This file moves a cache in and out as JSON Lines: requests-cache's
// BaseCache.update() (copying between backends) and VCR cassettes, for
// fixtures, backups and moving between backends. Each line is one stored response, or one alias (a Vary index or
// redirect) that leads to exported responses. The credential key is never
// exported.

// ExportVersion is the format version of the lines Export writes.
const ExportVersion = jsonl.Version

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
		if err := enc.Encode(jsonl.Entry(e)); err != nil {
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
func (c *Cache) exportAliases(ctx context.Context, exported map[string]bool) ([]jsonl.Line, error) {
	sc, ok := c.s.raw.(stores.AliasScanner)
	if !ok {
		return nil, nil // the variants stored under their primary key still export
	}
	var out []jsonl.Line
	err := sc.ScanAliases(ctx, func(alias, value string) bool {
		if alias == CredentialKeyAlias {
			return true // a secret: never exported
		}
		if leadsTo(value, exported) {
			out = append(out, jsonl.Alias(alias, value))
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
	if idx, ok := cachekey.DecodeVaryIndex(value); ok {
		for _, k := range idx.Variants {
			if exported[k] {
				return true
			}
		}
	}
	return false
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
		line, err := jsonl.ReadLine(br, maxLine)
		if err == io.EOF && len(line) == 0 {
			if n == 1 {
				return 0, &ImportError{Line: 1, Err: errors.New("empty input: nothing to import")}
			}
			break
		}
		if err != nil && err != io.EOF {
			return 0, &ImportError{Line: n, Err: err}
		}
		e, alias, perr := jsonl.Parse(line)
		if perr == nil && alias[0] == CredentialKeyAlias {
			perr = errors.New("the credential key is never imported")
		}
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
		c.s.listEntry(ctx, p, im.x.req, nil, im.x.key, im.e)
		if im.rekeys && im.e.Key != im.x.key {
			c.s.indexVariant(ctx, im.x, im.names, im.e.Key, im.e.Header)
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
