// Package cachekey derives reqcache's cache keys and the redacted forms of
// requests that are stored: URL and body normalization, canonical JSON,
// matched headers, the credentials that are never stored in the clear and
// the keyed hash that separates them, and the Vary variant keys. It does
// no I/O. Keys persist in shared stores: vectors_test.go pins them.
package cachekey

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
)

// Redacted replaces ignored parameters (credentials) in everything stored.
const Redacted = "REDACTED"

// credentialHeaders always count as credentials, whatever
// ignored_parameters says: never stored or logged in the clear, and under
// separate_credentials part of the keyed hash. Beyond HTTP's own, the
// header names that common APIs use for keys and tokens (Azure, Google
// Cloud, Azure API Management, GitLab, Vault, AWS).
var credentialHeaders = []string{
	"Authorization", "Proxy-Authorization", "Cookie",
	"Api-Key", "X-Goog-Api-Key", "Ocp-Apim-Subscription-Key", "Private-Token",
	"X-Vault-Token", "X-Amz-Security-Token", "X-Github-Otp",
}

// signingParams are the query parameters of signed URLs — AWS SigV4
// presigned URLs and GCS V4 signed URLs — and the operation hint the AWS
// SDKs add (x-id=GetObject, x-id=PutObject). They differ on every request
// of one principal, so they leave keys as ignored parameters do (and are
// REDACTED in what is stored), whatever ignored_parameters says; under
// separate_credentials only the principal the credential parameter names
// joins the keyed hash (Credentials). Query parameters only: a header or
// body field of these names is nothing special.
var signingParams = []string{
	"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
	"X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token",
	"X-Goog-Algorithm", "X-Goog-Credential", "X-Goog-Date", "X-Goog-Expires",
	"X-Goog-SignedHeaders", "X-Goog-Signature",
	"x-id",
}

// isSigningParam reports one of signingParams, in any case.
func isSigningParam(name string) bool {
	if len(name) < 4 || name[0]|0x20 != 'x' || name[1] != '-' {
		return false // the usual parameter, at the cost of two byte compares
	}
	for _, p := range signingParams {
		if strings.EqualFold(name, p) {
			return true
		}
	}
	return false
}

// sdkRequestHeaders are headers an SDK sets anew on every request (a
// signature's date and payload hash, a retry count, an invocation id):
// never part of a key, even under match_headers = true.
var sdkRequestHeaders = []string{"X-Amz-Date", "X-Amz-Content-Sha256", "Amz-Sdk-Invocation-Id", "Amz-Sdk-Request", "X-Goog-Date",
	"X-Ms-Date", "X-Ms-Client-Request-Id"} // Azure's SDKs: the SharedKey signature's date, a per-request id

// principalOf returns who signed a request with an HMAC scheme of the
// SigV4 family (AWS4-HMAC-SHA256, GOOG4-HMAC-SHA256): its scheme and the
// access key of its Credential=KEY/DATE/REGION/SERVICE/…; or with Azure
// Storage's SharedKey (and SharedKeyLite): the scheme and the account; ok
// is false for any other Authorization value. The signature, date and scope differ on
// every request: the principal is what stays.
func principalOf(authorization string) (string, bool) {
	scheme, params, ok := strings.Cut(authorization, " ")
	if !ok {
		return "", false
	}
	if strings.EqualFold(scheme, "SharedKey") || strings.EqualFold(scheme, "SharedKeyLite") {
		// Azure Storage's "SharedKey ACCOUNT:SIGNATURE": the signature
		// covers x-ms-date, new every second; the account is who signed.
		account, _, ok := strings.Cut(strings.TrimSpace(params), ":")
		return scheme + " " + account, ok && account != ""
	}
	if !strings.HasSuffix(strings.ToUpper(scheme), "-HMAC-SHA256") {
		return "", false
	}
	for _, param := range strings.Split(params, ",") {
		name, v, _ := strings.Cut(strings.TrimSpace(param), "=")
		if strings.EqualFold(name, "Credential") {
			key, _, _ := strings.Cut(v, "/")
			return scheme + " " + key, key != ""
		}
	}
	return "", false
}

// HostMatches reports whether a stored URL is from host: "example.com"
// matches every port of it, "example.com:8443" that port alone (and "::1"
// or "[::1]" every port of that address).
func HostMatches(rawURL, host string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	if hostHasPort(host) {
		return strings.EqualFold(u.Host, host)
	}
	return strings.EqualFold(u.Hostname(), strings.Trim(host, "[]"))
}

// hostHasPort tells "example.com:8443" and "[::1]:8080" from "example.com",
// "::1" and "[::1]" (a bare IPv6 address has colons and no port).
func hostHasPort(host string) bool {
	if strings.HasPrefix(host, "[") {
		return strings.Contains(host, "]:")
	}
	return strings.Count(host, ":") == 1
}

// CredentialHeaders returns the header names that always count as
// credentials, whatever ignored_parameters says.
func CredentialHeaders() []string { return append([]string(nil), credentialHeaders...) }

// Keyer computes cache keys and redacted copies of requests for one
// settings snapshot (ignored parameters, matched headers). It is safe for
// concurrent use.
type Keyer struct {
	ignored      map[string]bool // lower-case names
	matchAll     bool
	matchHeaders []string                // canonical names, sorted
	keyMemo      atomic.Pointer[keyMemo] // memo.go
}

// New returns the Keyer for the given ignored parameters (requests-cache's
// ignored_parameters) and matched headers (match_headers: all, or names).
func New(ignored []string, matchAll bool, match []string) *Keyer {
	k := &Keyer{ignored: make(map[string]bool, len(ignored)), matchAll: matchAll}
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
func (k *Keyer) ignoreFunc() func(string) bool {
	if len(k.ignored) == 0 {
		return nil
	}
	return k.IsIgnored
}

// IsIgnored reports whether name (a query parameter, header or body field)
// is one of the ignored parameters, in any case.
func (k *Keyer) IsIgnored(name string) bool {
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

// methodOverrides are the headers that tunnel a method through another,
// in their canonical spelling: the ones requests-cache treats as overrides
// (X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override).
var methodOverrides = [...]string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override"}

// Method is the method a request is sent with, as keys name it: the
// request's own (GET when empty). A method override header never changes
// it: the cache cannot know whether the origin honours the override, so a
// request that carries one is never answered from, nor written to, the
// cache (MethodOverride).
func Method(req *http.Request) string {
	if req.Method == "" {
		return http.MethodGet
	}
	return req.Method
}

// MethodOverride returns the method a method override header
// (X-HTTP-Method-Override, X-HTTP-Method or X-Method-Override) names, when
// it differs from the request's own: a tunnelled method, which an origin
// may or may not honour. ok is false without one.
func MethodOverride(req *http.Request) (method string, ok bool) {
	for _, name := range methodOverrides {
		// The canonical spelling, looked up directly: Header.Get would
		// canonicalize the name (an allocation) on every request.
		o := req.Header[name]
		if len(o) == 0 || o[0] == "" {
			continue
		}
		if m := strings.ToUpper(strings.TrimSpace(o[0])); m != Method(req) {
			return m, true
		}
	}
	return "", false
}

// keyFormat versions the key material (its first byte): a change to what
// goes into a key changes it, so that entries stored under another format
// are misses rather than answers to requests they were not meant for.
const keyFormat = 3

// Key returns the cache key of a request with the given body: the first 128
// bits, in hex, of SHA-256 over the byte keyFormat followed by these
// fields, each preceded by its length as a uvarint (so that no two ways of
// splitting the same bytes into fields collide; a varint keeps a short GET's
// material within one SHA-256 block):
//
//	method, normalized URL, Host, body media type, normalized body,
//	then a name and a value per matched header
//
// The URL is normalized (lower-case scheme and host, default port dropped,
// user info and fragment dropped, the path of an opaque URL kept, query
// parameters sorted, ignored parameters removed). Host is the Host the
// request is sent with when it differs from the URL's, else empty. JSON
// bodies are re-encoded with sorted keys and form bodies sorted, both
// without ignored fields; a body that is not canonical JSON or a form is
// keyed as its bytes.
func (k *Keyer) Key(req *http.Request, body []byte) string {
	key, _, _, _ := k.parts(req, body)
	return key
}

// parts is Key, and whether the body and the query held ignored fields
// (credentials, for separate_credentials), found in the same single parse;
// and, for a request the memo serves (memo.go), its URIKey too ("" for
// others: URIKey computes it when it is needed).
func (k *Keyer) parts(req *http.Request, body []byte) (key, uri string, bodyIgnored, queryIgnored bool) {
	if len(body) > 0 || k.matchAll || len(k.matchHeaders) > 0 || req.URL == nil {
		key, _, bodyIgnored, queryIgnored = k.computeParts(req, body, false)
		return key, "", bodyIgnored, queryIgnored
	}
	m := k.memo()
	in := memoInputOf(req)
	e, sum := m.lookup(&in)
	if e != nil {
		return e.key, e.uri, false, e.queryIgnored
	}
	key, uri, _, queryIgnored = k.computeParts(req, nil, true)
	m.remember(&in, sum, key, uri, queryIgnored)
	return key, uri, false, queryIgnored
}

// computeParts is parts without the memo; withURI also computes the
// URIKey from the normalized URL it has already written (both hex strings
// in one allocation).
func (k *Keyer) computeParts(req *http.Request, body []byte, withURI bool) (key, uri string, bodyIgnored, queryIgnored bool) {
	var buf [512]byte
	b := append(buf[:0], keyFormat)
	b = appendField(b, Method(req))
	at := len(b)
	b = openField(b)
	b, queryIgnored = k.appendURLFound(b, req.URL, false)
	b = closeField(b, at)
	b = appendField(b, hostOverride(req))
	var uriSum [sha256.Size]byte
	if withURI {
		// uriKey's material: its version byte, then the same two fields.
		var ub [512]byte
		uriSum = sha256.Sum256(append(append(ub[:0], 'u'), b[at:]...))
	}
	if len(body) > 0 {
		ct := req.Header.Get("Content-Type")
		b = appendField(b, keyMediaType(ct))
		var nb []byte
		nb, bodyIgnored = k.NormalizeBody(ct, body, false)
		b = appendField(b, nb)
	} else {
		b = appendField(b, "")
		b = appendField(b, "")
	}
	if k.matchAll || len(k.matchHeaders) > 0 {
		b = k.appendMatchedHeaders(b, req.Header)
	}
	sum := sha256.Sum256(b)
	if !withURI {
		return hexKey(sum[:16]), "", bodyIgnored, queryIgnored
	}
	var both [64]byte
	hex.Encode(both[:32], sum[:16])
	hex.Encode(both[32:], uriSum[:16])
	s := string(both[:])
	return s[:32], s[32:], bodyIgnored, queryIgnored
}

// URIKey names the resource a request is for: the first 128 bits, in hex,
// of SHA-256 over a version byte and two length-prefixed fields, the
// normalized URL without ignored parameters (as in Key) and the Host
// override. Every response stored for a resource — any method, variant,
// part or principal — carries it (stores.Entry.URIKey), so that an unsafe
// request can make them all unusable at once (RFC 9111 §4.4).
func (k *Keyer) URIKey(req *http.Request) string {
	return k.uriKey(req.URL, hostOverride(req))
}

// URIKeyOf is URIKey for a URL and the Host it is sent with ("" for the
// URL's own).
func (k *Keyer) URIKeyOf(u *url.URL, host string) string {
	return k.uriKey(u, hostOverride(&http.Request{URL: u, Host: host}))
}

func (k *Keyer) uriKey(u *url.URL, host string) string {
	var buf [256]byte
	b := append(buf[:0], 'u')
	at := len(b)
	b = openField(b)
	b = k.appendURL(b, u, false)
	b = closeField(b, at)
	b = appendField(b, host)
	sum := sha256.Sum256(b)
	return hexKey(sum[:16])
}

// appendField appends v preceded by its length.
func appendField[T string | []byte](b []byte, v T) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// openField reserves the length of a field whose bytes are appended next;
// closeField(b, at), with at the length of b before openField, fills it in
// (moving the field when its length takes more than the one byte reserved).
func openField(b []byte) []byte { return append(b, 0) }

func closeField(b []byte, at int) []byte {
	n := uint64(len(b) - at - 1)
	if n < 0x80 {
		b[at] = byte(n)
		return b
	}
	var l [binary.MaxVarintLen64]byte
	w := binary.PutUvarint(l[:], n)
	b = append(b, l[:w-1]...) // room for the longer length
	copy(b[at+w:], b[at+1:len(b)-(w-1)])
	copy(b[at:], l[:w])
	return b
}

// hostOverride is the Host a request is sent with when it is not its URL's
// (virtual hosts reached through one address), normalized; else "".
func hostOverride(req *http.Request) string {
	if req.Host == "" || req.URL == nil {
		return ""
	}
	scheme := lowerASCII(req.URL.Scheme)
	h := normalizeHost(scheme, lowerASCII(req.Host))
	if h == normalizeHost(scheme, lowerASCII(req.URL.Host)) {
		return ""
	}
	return h
}

// mediaType is a body's Content-Type as it takes part in the key: the
// media type and parameters in canonical form, or the value as sent when it
// does not parse.
func mediaType(ct string) string {
	if ct == "" || plainMediaType(ct) {
		return ct // already canonical: the usual "application/json"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return ct
	}
	return mime.FormatMediaType(mt, params)
}

// keyMediaType is mediaType without a multipart body's boundary, which
// mime/multipart draws at random for every request: the body's parts are
// keyed instead (NormalizeBody).
func keyMediaType(ct string) string {
	if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "multipart/") {
		return mediaType(ct)
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return ct
	}
	delete(params, "boundary")
	return mime.FormatMediaType(mt, params)
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

// appendMatchedHeaders writes the matched headers, sorted: a name field
// and a value field each.
func (k *Keyer) appendMatchedHeaders(b []byte, hdr http.Header) []byte {
	names := k.matchHeaders
	if k.matchAll {
		names = make([]string, 0, len(hdr))
		for name := range hdr {
			if !k.IsIgnored(name) && !isCredentialHeader(name) && !slices.Contains(sdkRequestHeaders, name) {
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
		b = appendField(b, strings.ToLower(name))
		if k.IsIgnored(name) || isCredentialHeader(name) {
			// A matched credential would otherwise put the secret into the
			// key material; its keyed hash joins the key instead.
			b = appendField(b, Redacted)
		} else {
			// Normalized as Vary matching normalizes (varyValue): lines
			// and whitespace do not count, and a weighted list
			// (Accept-Encoding, Accept-Language) is a set whatever its
			// order and case, as requests-cache's match_headers makes it.
			// Other values keep their case and order: a tenant "Acme" is
			// not "acme".
			b = appendField(b, varyValue(hdr, http.CanonicalHeaderKey(name)))
		}
	}
	return b
}

func isCredentialHeader(name string) bool {
	for _, c := range credentialHeaders {
		// (The length first: EqualFold does not, and this runs for every
		// header name Vary lists on every hit.)
		if len(name) == len(c) && strings.EqualFold(name, c) {
			return true
		}
	}
	return false
}

// appendURL writes the normalized URL. With redact, ignored parameters are
// kept with the value REDACTED (for storage); without it they are dropped
// (for keys).
func (k *Keyer) appendURL(b []byte, u *url.URL, redact bool) []byte {
	b, _ = k.appendURLFound(b, u, redact)
	return b
}

// appendURLFound is appendURL that also reports whether the query held an
// ignored parameter.
func (k *Keyer) appendURLFound(b []byte, u *url.URL, redact bool) ([]byte, bool) {
	if u == nil {
		return b, false
	}
	scheme := lowerASCII(u.Scheme)
	b = append(b, scheme...)
	b = append(b, "://"...)
	b = append(b, normalizeHost(scheme, lowerASCII(u.Host))...)
	p := u.EscapedPath()
	if u.Opaque != "" {
		p = opaquePath(u.Opaque)
	}
	if p == "" {
		p = "/"
	}
	b = append(b, p...)
	if u.RawQuery == "" {
		return b, false
	}
	return k.appendQueryFound(b, u.RawQuery, redact, true)
}

// plainMediaType reports a lower-case type/subtype with no parameters,
// which mime.FormatMediaType would give back unchanged.
func plainMediaType(ct string) bool {
	slash := false
	for i := 0; i < len(ct); i++ {
		switch c := ct[i]; {
		case c == '/' && !slash && i > 0 && i < len(ct)-1:
			slash = true
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '+', c == '.':
		default:
			return false
		}
	}
	return slash
}

// normalizeHost drops a lower-case host's default or empty port.
func normalizeHost(scheme, host string) string {
	if h, port, ok := strings.Cut(host, ":"); ok && !strings.HasPrefix(host, "[") {
		if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") || port == "" {
			return h
		}
	} else if strings.HasPrefix(host, "[") {
		if i := strings.LastIndex(host, "]:"); i >= 0 {
			port := host[i+2:]
			if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") || port == "" {
				return host[:i+1]
			}
		}
	}
	return host
}

// opaquePath is the path an opaque URL sends (net/url: "//host/path" is
// sent as is, the host part being the URL's own). An opaque part that is no
// path at all (a non-HTTP URL such as "x:y") gets a leading slash, so that
// the normalized URL parses back to itself.
func opaquePath(opaque string) string {
	p := opaque
	if rest, ok := strings.CutPrefix(opaque, "//"); ok {
		p = "/"
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			p = rest[i:]
		}
	} else if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	// Escaped as a parsed path is, for the same reason.
	if unescaped, err := url.PathUnescape(p); err == nil {
		return (&url.URL{Path: unescaped}).EscapedPath()
	}
	return (&url.URL{Path: p}).EscapedPath()
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
// keeping their encoded form), drops or redacts the ignored ones (and, in
// a URL's query, the signing parameters), and reports whether an ignored
// parameter was present.
func (k *Keyer) appendQueryFound(b []byte, raw string, redact, inURL bool) ([]byte, bool) {
	found := false
	query := raw
	var stack [16]string
	params := stack[:0]
	for raw != "" {
		var p string
		p, raw, _ = strings.Cut(raw, "&")
		if p == "" {
			continue
		}
		if len(k.ignored) > 0 || inURL {
			var hit bool
			if p, hit = k.scrubParam(p, query, redact, inURL); hit {
				found = true
				if p == "" {
					continue
				}
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

// scrubParam drops (for keys) or redacts (redact: for what is stored) the
// ignored parameters of one '&'-separated query member; query is the whole
// query it came from (a credential's shape may depend on its neighbours). A
// member may hold several ';'-separated parameters (some servers split on
// ';' too), each checked on its own. hit reports that one was ignored.
func (k *Keyer) scrubParam(p, query string, redact, inURL bool) (out string, hit bool) {
	ignored := func(name, _ string) bool { return k.IsIgnored(name) }
	if inURL {
		ignored = func(name, value string) bool { return k.isIgnoredInURL(name, value, query) }
	}
	if !strings.Contains(p, ";") {
		name, value, _ := strings.Cut(p, "=")
		if n, ok := queryName(name); ok && ignored(n, value) {
			if redact {
				return name + "=" + Redacted, true
			}
			return "", true
		}
		return p, false
	}
	var kept []string
	for _, sub := range strings.Split(p, ";") {
		name, value, _ := strings.Cut(sub, "=")
		if n, ok := queryName(name); ok && n != "" && ignored(n, value) {
			hit = true
			if !redact {
				continue
			}
			sub = name + "=" + Redacted
		}
		kept = append(kept, sub)
	}
	return strings.Join(kept, ";"), hit
}

// isIgnoredInURL reports a query parameter of a URL that leaves keys: an
// ignored parameter, a signing parameter, or a credential known by its
// shape; value is as sent, query the whole query.
func (k *Keyer) isIgnoredInURL(name, value, query string) bool {
	return k.IsIgnored(name) || isSigningParam(name) || isCredentialByShape(name, value, query)
}

// isCredentialByShape reports the query credentials told by their shape,
// not by their name alone ("key" and "sig" name ordinary parameters on
// most hosts, and dropping those from keys would let two resources share
// an entry):
//
//   - an Azure shared access signature: a query with both "sig" and "sv"
//     (the signed version every SAS has). Its fields (sasFields) describe
//     the grant, not the resource, and leave keys as a presigned URL's do;
//     the signature, which covers them all, is the principal: one grant's
//     requests share entries, two grants never do under
//     separate_credentials, and a write to the blob by any principal
//     invalidates them all.
//   - a Google API key: a value of the shape Google gives its keys, "AIza"
//     and 35 characters of [0-9A-Za-z_-], under any name ("key" on
//     googleapis.com, but also behind proxies, emulators and private
//     endpoints, which a host list would miss). The key is the principal.
func isCredentialByShape(name, value, query string) bool {
	if len(value) == 39 && strings.HasPrefix(value, "AIza") && isKeyAlphabet(value[4:]) {
		return true
	}
	return isSASField(name) && hasQueryParam(query, "sv") && hasQueryParam(query, "sig")
}

// sasFields are the fields of an Azure shared access signature that
// describe the grant (version, services, resource types and resource,
// permissions, start, expiry, IP range, protocol, policy id, directory
// depth, delegation key and user ids, encryption scope) and its
// signature. The response-header overrides (rscc, rsct, ...) are not among
// them: they change the response, and stay in the key.
var sasFields = []string{"sig", "sv", "ss", "srt", "sr", "sp", "st", "se", "sip", "spr", "si", "sdd",
	"skoid", "sktid", "skt", "ske", "sks", "skv", "saoid", "suoid", "scid", "ses"}

func isSASField(name string) bool {
	if len(name) < 2 || len(name) > 5 || name[0]|0x20 != 's' {
		return false // the usual parameter, at the cost of two compares
	}
	for _, f := range sasFields {
		if strings.EqualFold(name, f) {
			return true
		}
	}
	return false
}

// isKeyAlphabet reports s made of [0-9A-Za-z_-] alone.
func isKeyAlphabet(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// hasQueryParam reports a raw query holding a parameter of that name (as
// sent, in any case), with '&' or ';' between parameters.
func hasQueryParam(query, name string) bool {
	for query != "" {
		i := strings.IndexAny(query, "&;")
		p := query
		if i >= 0 {
			p, query = query[:i], query[i+1:]
		} else {
			query = ""
		}
		n, _, _ := strings.Cut(p, "=")
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// ignoredParams appends the ignored and signing parameters of a URL's raw
// query, and those credentials known by their shape, each as it was sent,
// to dst.
func (k *Keyer) ignoredParams(dst []string, raw string) []string {
	query := raw
	for raw != "" {
		var p string
		p, raw, _ = strings.Cut(raw, "&")
		for p != "" {
			var sub string
			sub, p, _ = strings.Cut(p, ";")
			name, value, _ := strings.Cut(sub, "=")
			if n, ok := queryName(name); ok && n != "" && k.isIgnoredInURL(n, value, query) {
				dst = append(dst, sub)
			}
		}
	}
	return dst
}

// NormalizeBody returns the body as it takes part in the key (redact false:
// ignored fields dropped) or as it is stored (redact true: ignored fields
// REDACTED), and whether it held an ignored field. JSON objects get sorted
// keys, forms sorted fields; anything else, or anything that does not
// parse, is used as it is.
func (k *Keyer) NormalizeBody(contentType string, body []byte, redact bool) ([]byte, bool) {
	mt, params, _ := mime.ParseMediaType(contentType)
	switch {
	case strings.HasPrefix(mt, "multipart/") && !redact:
		// Stored as sent; keyed by its parts, not by the random boundary.
		// Every part takes part, credentials too (they then split keys).
		// The two forms are told apart by a first byte, so that no raw
		// body equals another body's parts (a body that does not parse
		// may hold anything: it counts as holding credentials).
		if out, found, ok := k.multipartParts(body, params["boundary"]); ok {
			return append([]byte{multipartParsed}, out...), found
		}
		return append([]byte{multipartRaw}, body...), true
	case mt == "application/x-www-form-urlencoded":
		out, found := k.appendQueryFound(nil, string(body), redact, false)
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

// The first byte of a multipart body's key material: its parts, or its
// raw bytes when it does not parse with its boundary.
const (
	multipartParsed = 'p'
	multipartRaw    = 'r'
)

// multipartParts is a multipart body as length-prefixed fields, part by
// part in order: its headers (sorted, boundary-free) and its contents;
// found reports a part named by an ignored parameter (a form field such as
// access_token). ok is false for a body that does not parse as multipart
// with that boundary.
func (k *Keyer) multipartParts(body []byte, boundary string) (out []byte, found, ok bool) {
	if boundary == "" {
		return nil, false, false
	}
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		part, err := r.NextRawPart()
		if err == io.EOF {
			return out, found, true
		}
		if err != nil {
			return nil, false, false
		}
		if name := part.FormName(); name != "" && k.IsIgnored(name) {
			found = true
		}
		names := make([]string, 0, len(part.Header))
		for name := range part.Header {
			names = append(names, name)
		}
		slices.Sort(names)
		at := len(out)
		out = openField(out)
		for _, name := range names {
			for _, v := range part.Header[name] {
				out = appendField(out, name)
				out = appendField(out, v)
			}
		}
		out = closeField(out, at)
		contents, err := io.ReadAll(part)
		if err != nil {
			return nil, false, false
		}
		out = appendField(out, contents)
	}
}

// BodyMayHoldCredentials reports whether a body of this Content-Type can
// carry an ignored parameter: a form (urlencoded or multipart) or JSON
// body, when any is ignored.
func (k *Keyer) BodyMayHoldCredentials(contentType string) bool {
	if len(k.ignored) == 0 {
		return false
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	return mt == "application/x-www-form-urlencoded" || strings.HasPrefix(mt, "multipart/") || mt == "application/json" || strings.HasSuffix(mt, "+json")
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

// Credentials returns the request's credentials (credential headers,
// ignored headers, ignored query parameters and URL user info) as sorted,
// length-delimited "kind:name=value" fields, or nil when there are none.
// scanQuery false skips the query, known to hold no ignored parameter.
func (k *Keyer) Credentials(req *http.Request, scanQuery bool) []byte {
	var parts []string
	for name, vs := range req.Header {
		if isCredentialHeader(name) || k.IsIgnored(name) {
			for _, v := range vs {
				if name == "Authorization" {
					if principal, ok := principalOf(v); ok {
						v = principal // a signed request: who signed it, not the signature
					}
				}
				if name == "Cookie" {
					// Cookies are a set (requests-cache compares them so):
					// each is a part of its own, sorted with the rest, so
					// that their order on the line does not matter.
					for _, c := range strings.Split(v, ";") {
						if c = strings.TrimSpace(c); c != "" {
							parts = append(parts, "h:cookie="+c)
						}
					}
					continue
				}
				parts = append(parts, "h:"+strings.ToLower(name)+"="+v)
			}
		}
	}
	if req.URL != nil {
		if req.URL.User != nil {
			parts = append(parts, "u:"+req.URL.User.String())
		}
		if scanQuery && req.URL.RawQuery != "" {
			for _, p := range k.ignoredParams(nil, req.URL.RawQuery) {
				if p, ok := signedURLPart(p); ok {
					parts = append(parts, "q:"+p)
				}
			}
		}
	}
	if len(parts) == 0 {
		return nil
	}
	sort.Strings(parts)
	var b []byte
	for _, p := range parts {
		b = appendField(b, p)
	}
	return b
}

// signedURLPart is what an ignored query parameter, as sent, adds to the
// credential hash: the whole parameter for an ignored one (and for a SAS's
// signature or a Google API key); for a signed URL's credential parameter
// the principal alone (the access key before the first "/" of
// KEY/DATE/REGION/SERVICE/…); nothing for the signature, date, expiry and
// the other signing parameters, nor for a SAS's other fields.
func signedURLPart(p string) (string, bool) {
	name, v, _ := strings.Cut(p, "=")
	n, _ := queryName(name)
	if isSASField(n) && !strings.EqualFold(n, "sig") {
		return "", false // a SAS's grant: its signature stands for it
	}
	if !isSigningParam(n) {
		return p, true
	}
	if !strings.EqualFold(n, "X-Amz-Credential") && !strings.EqualFold(n, "X-Goog-Credential") {
		return "", false
	}
	if uv, err := url.QueryUnescape(v); err == nil {
		v = uv
	}
	key, _, _ := strings.Cut(v, "/")
	return strings.ToLower(n) + "=" + key, true
}

// Primary is the key of a request: Key, and, when secret is not nil
// (separate_credentials), with a keyed hash of the request's credentials
// mixed in, so that requests with different credentials never share a key.
func (k *Keyer) Primary(req *http.Request, body, secret []byte) string {
	key, _ := k.PrimaryAndURI(req, body, secret)
	return key
}

// PrimaryAndURI is Primary, and the request's URIKey when it came at no
// cost with the key ("" otherwise: call URIKey when it is needed).
func (k *Keyer) PrimaryAndURI(req *http.Request, body, secret []byte) (key, uri string) {
	key, uri, bodyIgnored, queryIgnored := k.parts(req, body)
	if secret == nil {
		return key, uri
	}
	return k.separate(key, req, body, secret, queryIgnored, bodyIgnored), uri
}

// Separate mixes the keyed hash of the request's credentials into a key
// computed elsewhere (a key function's).
func (k *Keyer) Separate(key string, req *http.Request, body, secret []byte) string {
	bodyIgnored := false
	if len(body) > 0 {
		_, bodyIgnored = k.NormalizeBody(req.Header.Get("Content-Type"), body, false)
	}
	return k.separate(key, req, body, secret, true, bodyIgnored)
}

func (k *Keyer) separate(key string, req *http.Request, body, secret []byte, scanQuery, bodyIgnored bool) string {
	creds := k.Credentials(req, scanQuery)
	if bodyIgnored {
		// The body's secret values are what the key left out: the raw
		// body stands for them, through the keyed hash only.
		creds = appendField(appendField(creds, "b:"), body)
	}
	return withCredentials(key, secret, creds)
}

// ForPrincipal mixes the keyed hash of a principal, named by a signing
// scheme the caller knows, into a key computed without credentials: it
// stands for all of the request's credentials.
func ForPrincipal(key, principal string, secret []byte) string {
	return withCredentials(key, secret, appendField(nil, "p:"+principal))
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

// BareURL is u as keys see it: normalized, user info and ignored query
// parameters dropped (the URL of the same request without credentials).
func (k *Keyer) BareURL(u *url.URL) *url.URL {
	var buf [256]byte
	bare, err := url.Parse(string(k.appendURL(buf[:0], u, false)))
	if err != nil {
		return u
	}
	return bare
}

// Bare reports a request keyed by its method, URL and Host alone: no body,
// no credential (header, user info or ignored query parameter), no
// matched header. Its key is the one the same request without any header
// gets.
func (k *Keyer) Bare(req *http.Request, body []byte) bool {
	if len(body) > 0 || req.URL == nil || req.URL.User != nil {
		return false
	}
	for name := range req.Header {
		if isCredentialHeader(name) || k.IsIgnored(name) {
			return false
		}
		if k.matchAll || slices.Contains(k.matchHeaders, name) {
			return false
		}
	}
	if req.URL.RawQuery != "" && len(k.ignoredParams(nil, req.URL.RawQuery)) > 0 {
		return false
	}
	return true
}

// RedactedURL is the URL as stored: normalized, user info dropped, ignored
// query parameters REDACTED.
func (k *Keyer) RedactedURL(u *url.URL) string {
	var buf [256]byte
	return string(k.appendURL(buf[:0], u, true))
}

// RedactedHeader copies h with credential and ignored headers REDACTED,
// and the ignored parameters of the URL a Referer names (an http.Client
// following a redirect sends the previous URL, query credentials
// included). An empty h gives nil (a miss of a request without headers,
// http.Get's, allocates nothing for it).
func (k *Keyer) RedactedHeader(h http.Header) http.Header {
	if len(h) == 0 {
		return nil
	}
	out := make(http.Header, len(h))
	for name, vs := range h {
		switch {
		case isCredentialHeader(name) || k.IsIgnored(name):
			out[name] = []string{Redacted}
		case name == "Referer":
			out[name] = make([]string, len(vs))
			for i, v := range vs {
				out[name][i] = k.RedactURLText(v)
			}
		default:
			out[name] = append([]string(nil), vs...)
		}
	}
	return out
}

// RedactHeader is h with its credentials redacted as RedactedHeader does,
// copied only when something in it is not redacted yet: h itself
// otherwise (a header already redacted, or holding no credential, costs
// no allocation).
func (k *Keyer) RedactHeader(h http.Header) http.Header {
	for name, vs := range h {
		if k.needsRedaction(name, vs) {
			return k.RedactedHeader(h)
		}
	}
	return h
}

func (k *Keyer) needsRedaction(name string, vs []string) bool {
	switch {
	case isCredentialHeader(name) || k.IsIgnored(name):
		return len(vs) != 1 || vs[0] != Redacted
	case name == "Referer":
		for _, v := range vs {
			if k.HasCredentials(v) {
				return true
			}
		}
	}
	return false
}

// HasCredentials reports a URL (absolute or a reference, as a Location
// names it) that carries credentials: user info or an ignored query
// parameter.
func (k *Keyer) HasCredentials(v string) bool {
	return k.RedactURLText(v) != v
}

// RedactURLText is a URL written in a header (Referer, Content-Location)
// with its user info and ignored query parameters redacted; one that does
// not parse is REDACTED whole.
func (k *Keyer) RedactURLText(v string) string {
	u, err := url.Parse(v)
	if err != nil {
		return Redacted
	}
	redactQuery := u.RawQuery != "" && len(k.ignoredParams(nil, u.RawQuery)) > 0
	if u.User == nil && !redactQuery {
		return v // as written: nothing to redact
	}
	u.User = nil
	if redactQuery {
		q, _ := k.appendQueryFound(nil, u.RawQuery, true, true)
		u.RawQuery = strings.TrimPrefix(string(q), "?")
	}
	return u.String()
}

// ScrubError is err's text with the request's credentials scrubbed from
// it, whatever its type: a *url.Error's URL is replaced by its redacted
// form, and so is the request's URL wherever else the text quotes it
// (errors built with fmt.Errorf); then every secret value the request
// carries (user info, ignored query parameters, credential headers) is
// replaced by REDACTED.
func (k *Keyer) ScrubError(err error, req *http.Request) string {
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		safe := "(unparsable URL)"
		if u, perr := url.Parse(ue.URL); perr == nil {
			safe = k.RedactedURL(u)
		}
		inner := ""
		if ue.Err != nil {
			inner = strings.ReplaceAll(ue.Err.Error(), ue.URL, safe)
		}
		rebuilt := fmt.Sprintf("%s %q: %s", ue.Op, safe, inner)
		msg = strings.ReplaceAll(msg, ue.Error(), rebuilt)
	}
	return k.scrub(msg, req)
}

// minSecretLen: shorter values are not scrubbed one by one (replacing "a"
// everywhere would make the text useless, and says nothing of a secret).
const minSecretLen = 4

// scrub removes the request's URL and secret values from a text.
func (k *Keyer) scrub(msg string, req *http.Request) string {
	if req == nil || req.URL == nil {
		return msg
	}
	if raw := req.URL.String(); strings.Contains(msg, raw) {
		msg = strings.ReplaceAll(msg, raw, k.RedactedURL(req.URL))
	}
	var secrets []string
	if u := req.URL.User; u != nil {
		secrets = append(secrets, u.String(), u.Username())
		if pw, ok := u.Password(); ok {
			secrets = append(secrets, pw, url.QueryEscape(pw))
		}
	}
	if req.URL.RawQuery != "" {
		for _, p := range k.ignoredParams(nil, req.URL.RawQuery) {
			if _, v, ok := strings.Cut(p, "="); ok {
				secrets = append(secrets, v)
				if uv, err := url.QueryUnescape(v); err == nil {
					secrets = append(secrets, uv)
				}
			}
		}
	}
	for name, vs := range req.Header {
		if isCredentialHeader(name) || k.IsIgnored(name) {
			for _, v := range vs {
				secrets = append(secrets, v)
				if _, token, ok := strings.Cut(v, " "); ok {
					secrets = append(secrets, token) // "Bearer <token>"
				}
			}
		}
	}
	// Longest first, so that a value containing another is replaced whole.
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	for _, sec := range secrets {
		if len(sec) >= minSecretLen && sec != Redacted {
			msg = strings.ReplaceAll(msg, sec, Redacted)
		}
	}
	return msg
}
