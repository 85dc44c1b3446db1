package session

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"go.uber.org/zap"
)

// Redacted replaces ignored parameters (credentials) in everything stored.
const Redacted = "REDACTED"

// credentialHeaders always count as credentials for separate_credentials,
// whatever ignored_parameters says.
var credentialHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie"}

// KeyFunc computes the cache key of a request (requests-cache's key_fn). body
// is the request body, already read; the request's Body must not be read.
// With separate_credentials the session mixes a keyed hash of the request's
// credentials into whatever the function returns.
type KeyFunc func(req *http.Request, body []byte) string

// keyer computes cache keys and redacted copies of requests for one settings
// snapshot.
type keyer struct {
	ignored      map[string]bool // lower-case names
	matchAll     bool
	matchHeaders []string // canonical names, sorted
}

func newKeyer(ignored []string, matchAll bool, match []string) *keyer {
	k := &keyer{ignored: make(map[string]bool, len(ignored)), matchAll: matchAll}
	for _, p := range ignored {
		// Every spelling a lookup is likely to use, so that isIgnored
		// rarely has to lower-case (and allocate).
		k.ignored[p] = true
		k.ignored[strings.ToLower(p)] = true
		k.ignored[http.CanonicalHeaderKey(p)] = true
	}
	for _, h := range match {
		k.matchHeaders = append(k.matchHeaders, http.CanonicalHeaderKey(h))
	}
	sort.Strings(k.matchHeaders)
	return k
}

// ignoreFunc is isIgnored, or nil when nothing is ignored.
func (k *keyer) ignoreFunc() func(string) bool {
	if len(k.ignored) == 0 {
		return nil
	}
	return k.isIgnored
}

func (k *keyer) isIgnored(name string) bool {
	if len(k.ignored) == 0 {
		return false
	}
	if k.ignored[name] {
		return true
	}
	// The map holds each name as written, lower-cased and canonical, so
	// only a name that is none of those needs lower-casing (an
	// allocation). Canonical header names return here without one.
	upper := false
	for i := 0; i < len(name) && !upper; i++ {
		upper = name[i] >= 'A' && name[i] <= 'Z'
	}
	if !upper || http.CanonicalHeaderKey(name) == name {
		return false
	}
	return k.ignored[strings.ToLower(name)]
}

const methodOverride = "X-Http-Method-Override"

// effectiveMethod is the request method, or the X-HTTP-Method-Override a
// client sends to tunnel another method through POST or GET.
func effectiveMethod(req *http.Request) string {
	// The canonical spelling, looked up directly: Header.Get would
	// canonicalize "X-HTTP-Method-Override" (an allocation) on every request.
	if o := req.Header[methodOverride]; len(o) > 0 && o[0] != "" {
		return strings.ToUpper(strings.TrimSpace(o[0]))
	}
	if req.Method == "" {
		return http.MethodGet
	}
	return req.Method
}

// Key returns the cache key of a request with the given body:
//
//	hex(SHA-256(method "\n" normalized-URL "\n" normalized-body "\n" matched-headers))[:32]
//
// The URL is normalized (lower-case scheme and host, default port dropped,
// user info and fragment dropped, query parameters sorted, ignored
// parameters removed); JSON bodies are re-encoded with sorted keys and form
// bodies sorted, both without ignored fields; matched headers are
// "name:value" lines in name order.
func (k *keyer) key(req *http.Request, body []byte) string {
	key, _, _ := k.keyParts(req, body)
	return key
}

// keyParts is key, and whether the body and the query held ignored fields
// (credentials, for separate_credentials), found in the same single parse.
func (k *keyer) keyParts(req *http.Request, body []byte) (key string, bodyIgnored, queryIgnored bool) {
	var buf [512]byte
	b := buf[:0]
	b = append(b, effectiveMethod(req)...)
	b = append(b, '\n')
	b, queryIgnored = k.appendURLFound(b, req.URL, false)
	b = append(b, '\n')
	if len(body) > 0 {
		var nb []byte
		nb, bodyIgnored = k.normalizeBody(req.Header.Get("Content-Type"), body, false)
		b = append(b, nb...)
	}
	b = append(b, '\n')
	if k.matchAll || len(k.matchHeaders) > 0 {
		b = k.appendMatchedHeaders(b, req.Header)
	}
	sum := sha256.Sum256(b)
	return hexKey(sum[:16]), bodyIgnored, queryIgnored
}

// hexKey is the hex form of a 128-bit digest: the only allocation of a key.
func hexKey(d []byte) string {
	var dst [32]byte
	hex.Encode(dst[:], d)
	return string(dst[:])
}

func sumHex(h hash.Hash) string {
	var sum [sha256.Size]byte
	return hexKey(h.Sum(sum[:0])[:16])
}

// appendMatchedHeaders writes the matched headers, sorted, one per line.
func (k *keyer) appendMatchedHeaders(b []byte, hdr http.Header) []byte {
	names := k.matchHeaders
	if k.matchAll {
		names = make([]string, 0, len(hdr))
		for name := range hdr {
			if !k.isIgnored(name) && !isCredentialHeader(name) {
				names = append(names, name)
			}
		}
		sort.Strings(names)
	}
	for _, name := range names {
		vs := hdr.Values(name)
		if len(vs) == 0 {
			continue
		}
		b = append(b, strings.ToLower(name)...)
		b = append(b, ':')
		if k.isIgnored(name) || isCredentialHeader(name) {
			// A matched credential would otherwise put the secret into the
			// key material; its keyed hash joins the key instead.
			b = append(b, Redacted...)
		} else {
			b = append(b, strings.Join(vs, ",")...)
		}
		b = append(b, '\n')
	}
	return b
}

func isCredentialHeader(name string) bool {
	for _, c := range credentialHeaders {
		if strings.EqualFold(name, c) {
			return true
		}
	}
	return false
}

// appendURL writes the normalized URL. With redact, ignored parameters are
// kept with the value REDACTED (for storage); without it they are dropped
// (for keys).
func (k *keyer) appendURL(b []byte, u *url.URL, redact bool) []byte {
	b, _ = k.appendURLFound(b, u, redact)
	return b
}

// appendURLFound is appendURL that also reports whether the query held an
// ignored parameter.
func (k *keyer) appendURLFound(b []byte, u *url.URL, redact bool) ([]byte, bool) {
	if u == nil {
		return b, false
	}
	scheme := lowerASCII(u.Scheme)
	b = append(b, scheme...)
	b = append(b, "://"...)
	host := lowerASCII(u.Host)
	if h, port, ok := strings.Cut(host, ":"); ok && !strings.HasPrefix(host, "[") {
		if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") || port == "" {
			host = h
		}
	} else if strings.HasPrefix(host, "[") {
		if i := strings.LastIndex(host, "]:"); i >= 0 {
			port := host[i+2:]
			if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") || port == "" {
				host = host[:i+1]
			}
		}
	}
	b = append(b, host...)
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	b = append(b, p...)
	if u.RawQuery == "" {
		return b, false
	}
	return k.appendQueryFound(b, u.RawQuery, redact)
}

// lowerASCII is strings.ToLower without an allocation for the usual,
// already lower-case, input.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// appendQueryFound sorts the query's parameters (by name, then value,
// keeping their encoded form), drops or redacts the ignored ones, and
// reports whether an ignored parameter was present.
func (k *keyer) appendQueryFound(b []byte, raw string, redact bool) ([]byte, bool) {
	found := false
	var stack [16]string
	params := stack[:0]
	for raw != "" {
		var p string
		p, raw, _ = strings.Cut(raw, "&")
		if p == "" {
			continue
		}
		name, _, _ := strings.Cut(p, "=")
		if len(k.ignored) > 0 {
			if n, ok := queryName(name); ok && k.isIgnored(n) {
				found = true
				if !redact {
					continue
				}
				p = name + "=" + Redacted
			}
		}
		params = append(params, p)
	}
	if len(params) == 0 {
		return b, found
	}
	if len(params) > 1 {
		sort.Strings(params)
	}
	b = append(b, '?')
	for i, p := range params {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, p...)
	}
	return b, found
}

// normalizeBody returns the body as it takes part in the key (redact false:
// ignored fields dropped) or as it is stored (redact true: ignored fields
// REDACTED), and whether it held an ignored field. JSON objects get sorted
// keys, forms sorted fields; anything else, or anything that does not
// parse, is used as it is.
func (k *keyer) normalizeBody(contentType string, body []byte, redact bool) ([]byte, bool) {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case mt == "application/x-www-form-urlencoded":
		out, found := k.appendQueryFound(nil, string(body), redact)
		if len(out) == 0 {
			return out, found
		}
		return out[1:], found
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		if out, found, ok := canonicalJSON(body, k.ignoreFunc(), redact); ok {
			return out, found
		}
	}
	return body, false
}

// queryName is a query parameter's name unescaped; ok is false for a name
// that does not unescape. The usual name, with nothing escaped, is returned
// as is.
func queryName(name string) (string, bool) {
	if strings.IndexByte(name, '%') < 0 && strings.IndexByte(name, '+') < 0 {
		return name, true
	}
	n, err := url.QueryUnescape(name)
	return n, err == nil
}

// credentials returns the request's credentials (credential headers, ignored
// headers, ignored query parameters and URL user info) as sorted
// "name=value" material, or nil when there are none. scanQuery false skips
// the query, known to hold no ignored parameter.
func (k *keyer) credentials(req *http.Request, scanQuery bool) []byte {
	var parts []string
	for name, vs := range req.Header {
		if isCredentialHeader(name) || k.isIgnored(name) {
			parts = append(parts, "h:"+strings.ToLower(name)+"="+strings.Join(vs, ","))
		}
	}
	if req.URL != nil {
		if req.URL.User != nil {
			parts = append(parts, "u:"+req.URL.User.String())
		}
		if scanQuery && len(k.ignored) > 0 {
			raw := req.URL.RawQuery
			for raw != "" {
				var p string
				p, raw, _ = strings.Cut(raw, "&")
				name, _, _ := strings.Cut(p, "=")
				if n, ok := queryName(name); ok && n != "" && k.isIgnored(n) {
					parts = append(parts, "q:"+p)
				}
			}
		}
	}
	if len(parts) == 0 {
		return nil
	}
	sort.Strings(parts)
	return []byte(strings.Join(parts, "\n"))
}

// withCredentials mixes the keyed hash of creds into key.
func withCredentials(key string, secret, creds []byte) string {
	if len(creds) == 0 {
		return key
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(creds)
	h := sha256.New()
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write(mac.Sum(nil))
	return sumHex(h)
}

// redactedURL is the URL as stored: normalized, user info dropped, ignored
// query parameters REDACTED.
func (k *keyer) redactedURL(u *url.URL) string {
	var buf [256]byte
	return string(k.appendURL(buf[:0], u, true))
}

// redactedHeader copies h with credential and ignored headers REDACTED.
func (k *keyer) redactedHeader(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for name, vs := range h {
		if isCredentialHeader(name) || k.isIgnored(name) {
			out[name] = []string{Redacted}
			continue
		}
		out[name] = append([]string(nil), vs...)
	}
	return out
}

// NormalizeURL returns rawURL as reqcache stores it: lower-case scheme and
// host, default port dropped, user info and fragment dropped, query sorted,
// the given ignored parameters REDACTED. It is what Cache.URLs returns and
// what Selector.URLs are compared with.
func NormalizeURL(rawURL string, ignored []string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	return newKeyer(ignored, false, nil).redactedURL(u), nil
}

// errorField logs err with any URL it carries redacted: an upstream that
// wraps an http.Client returns *url.Error, whose text holds the full
// request URL, ignored parameters and user info included.
func (k *keyer) errorField(err error) zap.Field {
	var ue *url.Error
	if err == nil || !errors.As(err, &ue) {
		return zap.Error(err)
	}
	safe := "(unparsable URL)"
	if u, perr := url.Parse(ue.URL); perr == nil {
		safe = k.redactedURL(u)
	}
	inner := ""
	if ue.Err != nil {
		inner = strings.ReplaceAll(ue.Err.Error(), ue.URL, safe)
	}
	rebuilt := fmt.Sprintf("%s %q: %s", ue.Op, safe, inner)
	return zap.String("error", strings.ReplaceAll(err.Error(), ue.Error(), rebuilt))
}
