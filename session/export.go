package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"go.uber.org/zap"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/internal/cachekey"
	"github.com/reqcache/reqcache/internal/cachestatus"
	"github.com/reqcache/reqcache/internal/jsonl"
	"github.com/reqcache/reqcache/internal/urlindex"
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
	exported := make(map[string]bool, len(entries))
	for _, e := range entries {
		exported[e.Key] = true
	}
	aliases, err := c.exportAliases(ctx, exported)
	if err != nil {
		return 0, err
	}
	return len(entries), jsonl.Write(w, entries, aliases)
}

// exportAliases lists the aliases that lead to an exported key.
func (c *Cache) exportAliases(ctx context.Context, exported map[string]bool) ([]jsonl.Line, error) {
	sc := c.s.opt.Aliases
	if sc == nil {
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
	return out, err
}

// leadsTo reports whether an alias value (a Vary index, a redirect, or a
// language's variant key) names an exported key.
func leadsTo(value string, exported map[string]bool) bool {
	return exported[value] || urlindex.ParseAlias(value).LeadsTo(func(k string) bool { return exported[k] })
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

type importOptions struct {
	trustKeys bool
	refused   func(line int, why string)
}

// TrustKeys makes Import keep the key a line names when the line's request
// cannot be keyed again (an entry keyed by its credentials under
// separate_credentials, by a request body, or by a custom key function),
// and import the lines' aliases as they are: for files from this cache, or
// from one sharing its credential key (`reqcache import -trust-keys`). A
// line's key decides which requests the entry answers: from a file that is
// not trusted, such a line is an error. Only the key is trusted: a line's
// response still passes the storability decision.
func TrustKeys() ImportOption { return func(o *importOptions) { o.trustKeys = true } }

// OnRefused has Import call fn for each line whose response the
// storability decision refuses (why is its Cache-Status detail: "status",
// "no-store", "set-cookie", ...); such lines are skipped, not an error.
func OnRefused(fn func(line int, why string)) ImportOption {
	return func(o *importOptions) { o.refused = fn }
}

// Import reads what Export writes and stores it, so that imported
// responses answer the same requests. Each line goes through the same
// door as a response just received: it is keyed again from the request it
// records (method, URL, Host, matched headers) — a line whose key is not
// its request's is an error unless TrustKeys (a forged line could
// otherwise answer another URL's requests) — and its response passes the
// one storability decision under this session's settings, from the
// exchange the line records (its request, headers and times): a response
// this session would not have stored (a status outside allowable_codes,
// no-store, Set-Cookie without separate_credentials, ...) is skipped and
// reported to OnRefused, and the expiration is decided again as it was
// when the response arrived — except a lifetime no header records, which
// WithExpireAfter gave or ResetExpiration set (the line's Lifetime): the
// line's stands (ResetExpiration sets another). What a store
// never keeps (Set-Cookie, hop-by-hop fields) is dropped, and URL-bearing
// fields are redacted, as for any write. The Vary index and language
// aliases are rebuilt from the entries; alias lines are read only with
// TrustKeys. Every line is checked before anything is stored: a malformed
// line, an unknown version, a key that does not match or an empty input
// is an *ImportError naming the line, and the cache is left as it was.
// Responses stored with credentials under separate_credentials match only
// in a store with the same credential key (the one the source store
// kept); elsewhere they are misses. It returns how many responses it
// stored.
func (c *Cache) Import(ctx context.Context, r io.Reader, opts ...ImportOption) (int, error) {
	var o importOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	p := c.s.policy.Load()
	maxLine := 2*p.MaxBodyBytes + 1<<20 // a body in base64, and the rest
	var writes []imported
	var aliases [][2]string
	n, err := jsonl.Read(r, maxLine, func(n int, e *stores.Entry, alias [2]string) error {
		switch {
		case e != nil:
			im, err := c.s.admitImport(p, e, o.trustKeys)
			if err != nil {
				return err
			}
			im.line = n
			writes = append(writes, im)
		case alias[0] == CredentialKeyAlias:
			return errors.New("the credential key is never imported")
		case o.trustKeys:
			aliases = append(aliases, alias)
		}
		return nil
	})
	if err != nil {
		return 0, &ImportError{Line: n, Err: err}
	}
	stored := 0
	for _, im := range writes {
		ok, why := c.s.write(ctx, im.x, &im.w)
		switch {
		case ok:
			stored++
		case why == cachestatus.DetailStoreError || why == cachestatus.DetailTooLarge:
			return stored, fmt.Errorf("reqcache: import: line %d: storing %s %s: %s", im.line, im.w.e.Method, im.w.e.URL, why)
		default:
			if ce := c.s.log.Check(zap.InfoLevel, "reqcache: import: response refused"); ce != nil {
				ce.Write(zap.Int("line", im.line), zap.String("url", im.w.e.URL), zap.String("reason", string(why)))
			}
			if o.refused != nil {
				o.refused(im.line, string(why))
			}
		}
	}
	for _, a := range aliases {
		if err := c.s.importAlias(ctx, a[0], a[1]); err != nil {
			return stored, fmt.Errorf("reqcache: import: storing alias %s: %w", a[0], err)
		}
	}
	return stored, nil
}

// imported is one line of an import on its way to the writer.
type imported struct {
	x    *exchange
	w    entryWrite
	line int
}

// admitImport turns a line's entry into the write of a response just
// received: its request keyed again (rekey), its response through admit
// and entryFor as a miss's would be, its body and times the line's. A key
// that is not its request's is an error unless trusted.
func (s *Session) admitImport(p *policy, line *stores.Entry, trustKeys bool) (imported, error) {
	x, derived, err := s.rekey(p, line)
	if err != nil {
		return imported{}, err
	}
	if !derived && !trustKeys {
		return imported{}, errors.New("its key is not the key of the request it records: an entry keyed by credentials, a request body or a custom key function imports only when the file is trusted (session.TrustKeys, reqcache import -trust-keys)")
	}
	if line.Lifetime == stores.LifetimeOption || line.Lifetime == stores.LifetimeReset {
		// A lifetime the exchange's context gave (WithExpireAfter) or
		// ResetExpiration set: nothing in the line decides it again, so
		// the line's stands, as that option would for the request.
		exp := config.NeverExpire
		if !line.ExpiresAt.IsZero() {
			exp = config.At(line.ExpiresAt)
		}
		x.rq.Expiration, x.rq.WrittenExpiration, x.rq.ExpirationFrom = exp, true, line.Lifetime
	}
	a := s.admit(x, line.StatusCode, line.Header, line.RequestedAt, line.CreatedAt)
	if a.Store && s.invalidated.MarkedSince(x.uriKey(), line.CreatedAt) {
		// The resource changed here after the line's response arrived
		// (an unsafe request invalidated it): storing it again would
		// bring the old representation back.
		a = refused(cachestatus.DetailInvalidated)
	}
	e := s.entryFor(x, line.StatusCode, line.Header, a, line.RequestedAt, line.CreatedAt)
	e.Body = line.Body
	if !derived {
		e.Key = line.Key // trusted
	}
	return imported{x: x, w: entryWrite{kind: writeImport, a: a, e: e, rekeyed: derived}}, nil
}

// rekey derives an imported entry's key from the request its line
// records, as an exchange read like a request's: derived reports that the
// line's key is that key (a variant's when the response varies).
func (s *Session) rekey(p *policy, e *stores.Entry) (x *exchange, derived bool, err error) {
	u, err := url.Parse(e.URL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, false, fmt.Errorf("url %q is not an absolute URL", e.URL)
	}
	req := &http.Request{Method: e.Method, URL: u, Header: e.RequestHeader.Clone(), Host: u.Host}
	if h := req.Header.Get("Host"); h != "" {
		req.Host = h
		req.Header.Del("Host")
	}
	req = req.WithContext(context.Background())
	x = &exchange{req: req, p: p, since: s.invalidated.Now()}
	x.readRequest()
	x.key = s.keyFor(p, req, nil)
	want := x.key
	if names, _ := cachekey.VaryNames(e.Header); len(names) > 0 {
		want = p.keys.VariantKey(x.key, names, req.Header)
	}
	return x, e.Key == want, nil
}
