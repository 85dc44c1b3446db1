package model

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file reads messages the way RFC 9110 and 9111 define them, in the
// model's own code: directives, dates, ages, URLs, credentials, Vary
// selection and request bodies.

// directives is a parsed Cache-Control (RFC 9111 §5.2); -1: absent.
type directives struct {
	maxAge, maxStale, minFresh, staleIfError, staleWhileRevalidate time.Duration
	noCache, noStore, mustRevalidate, immutable, onlyIfCached      bool
}

func parseCC(h http.Header) directives {
	d := directives{maxAge: -1, maxStale: -1, minFresh: -1, staleIfError: -1, staleWhileRevalidate: -1}
	for _, line := range h.Values("Cache-Control") {
		for _, part := range strings.Split(line, ",") {
			name, value, hasValue := strings.Cut(strings.TrimSpace(part), "=")
			name = strings.ToLower(strings.TrimSpace(name))
			seconds := func() time.Duration {
				n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(value), `"`), 10, 64)
				if err != nil || n < 0 {
					return 0
				}
				return time.Duration(n) * time.Second
			}
			switch name {
			case "max-age":
				d.maxAge = seconds()
			case "max-stale":
				d.maxStale = 1 << 62
				if hasValue {
					d.maxStale = seconds()
				}
			case "min-fresh":
				d.minFresh = seconds()
			case "stale-if-error":
				d.staleIfError = seconds()
			case "stale-while-revalidate":
				d.staleWhileRevalidate = seconds()
			case "no-cache":
				d.noCache = true
			case "no-store":
				d.noStore = true
			case "must-revalidate":
				d.mustRevalidate = true
			case "immutable":
				d.immutable = true
			case "only-if-cached":
				d.onlyIfCached = true
			}
		}
	}
	if strings.EqualFold(h.Get("Pragma"), "no-cache") && len(h.Values("Cache-Control")) == 0 {
		d.noCache = true
	}
	return d
}

func parseDate(v string) (time.Time, bool) {
	t, err := http.ParseTime(v)
	return t, err == nil
}

// initialAge is RFC 9111 §4.2.3's corrected initial age of a response
// received at t (requests take no virtual time).
func initialAge(h http.Header, t time.Time) time.Duration {
	var apparent, age time.Duration
	if d, ok := parseDate(h.Get("Date")); ok && t.After(d) {
		apparent = t.Sub(d)
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(h.Get("Age")), 10, 64); err == nil && n > 0 {
		age = time.Duration(n) * time.Second
	}
	return max(apparent, age)
}

// normalURL is the URL as every request for the same resource sends it:
// scheme and host lower case, default port dropped, query members sorted,
// credential parameters left out (they are the principal's, not the
// resource's).
func (s *Settings) normalURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	host := strings.ToLower(u.Host)
	host = strings.TrimSuffix(host, ":80")
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	var members []string
	for _, m := range strings.FieldsFunc(u.RawQuery, func(r rune) bool { return r == '&' || r == ';' }) {
		name, value, _ := strings.Cut(m, "=")
		if n, err := url.QueryUnescape(name); err == nil && (s.isCredentialParam(n) || signedURLParam(n)) {
			continue
		}
		if cred, _ := shapedCredential(name, value, u.RawQuery); cred {
			continue
		}
		members = append(members, m)
	}
	sort.Strings(members)
	out := strings.ToLower(u.Scheme) + "://" + host + path
	if len(members) > 0 {
		out += "?" + strings.Join(members, "&")
	}
	return out
}

// targetHost is the host a request is sent to: its Host header, else its
// URL's.
func targetHost(r *Request) string {
	h := r.Host
	if h == "" {
		if u, err := url.Parse(r.URL); err == nil {
			h = u.Host
		}
	}
	return strings.TrimSuffix(strings.ToLower(h), ":80")
}

// credentialHeaders are the header names that carry credentials
// (docs/security.md: HTTP's own, the API-key headers of common services,
// and X-Api-Key, an ignored parameter by default).
var credentialHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "X-Api-Key", "X-Amz-Security-Token",
	"Api-Key", "X-Goog-Api-Key", "Ocp-Apim-Subscription-Key", "Private-Token", "X-Vault-Token", "X-Github-Otp"}

// sasFields are an Azure shared access signature's grant fields and its
// signature (docs/security.md, credentials known by their shape).
var sasFields = []string{"sig", "sv", "ss", "srt", "sr", "sp", "st", "se", "sip", "spr", "si", "sdd",
	"skoid", "sktid", "skt", "ske", "sks", "skv", "saoid", "suoid", "scid", "ses"}

// IsSASField reports a SAS grant field or signature name.
func IsSASField(name string) bool {
	for _, f := range sasFields {
		if strings.EqualFold(f, name) {
			return true
		}
	}
	return false
}

// shapedCredential reports a query member that is a credential by its
// shape (docs/security.md): a Google API key ("AIza" and 35 characters of
// [0-9A-Za-z_-]) under any name, or, in a query with both sig and sv (an
// Azure SAS), the grant's fields. principal is what it adds to the
// principal: the key, the SAS signature, nothing for the grant's other
// fields.
func shapedCredential(name, value, rawQuery string) (credential bool, principal string) {
	if v, err := url.QueryUnescape(value); err == nil && len(v) == 39 && strings.HasPrefix(v, "AIza") &&
		strings.Trim(v[4:], "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-") == "" {
		return true, name + "=" + v
	}
	if !IsSASField(name) {
		return false, ""
	}
	hasSig, hasSv := false, false
	for _, m := range strings.FieldsFunc(rawQuery, func(r rune) bool { return r == '&' || r == ';' }) {
		n, _, _ := strings.Cut(m, "=")
		hasSig = hasSig || strings.EqualFold(n, "sig")
		hasSv = hasSv || strings.EqualFold(n, "sv")
	}
	if !hasSig || !hasSv {
		return false, ""
	}
	if strings.EqualFold(name, "sig") {
		return true, "sas=" + value
	}
	return true, ""
}

// RequestRange is the byte range a request asks for: x-ms-range (Azure
// Storage's, which wins over Range there), else Range.
func RequestRange(h http.Header) string {
	if v := h.Get("X-Ms-Range"); v != "" {
		return v
	}
	return h.Get("Range")
}

// signedURLParam reports a query parameter of a signed URL (AWS SigV4
// presigned, GCS V4 signed; docs/security.md) or the AWS SDKs' operation
// hint: none of them names the resource, and of them only the credential's
// access key names the principal.
func signedURLParam(name string) bool {
	n := strings.ToLower(name)
	if n == "x-id" {
		return true
	}
	for _, prefix := range []string{"x-amz-", "x-goog-"} {
		if rest, ok := strings.CutPrefix(n, prefix); ok {
			switch rest {
			case "algorithm", "credential", "date", "expires", "signedheaders", "signature", "security-token":
				return true
			}
		}
	}
	return false
}

func (s *Settings) isCredentialParam(name string) bool {
	for _, p := range s.IgnoredParameters {
		if strings.EqualFold(p, name) {
			return true
		}
	}
	return false
}

func (s *Settings) isCredentialHeader(name string) bool {
	for _, c := range credentialHeaders {
		if strings.EqualFold(c, name) {
			return true
		}
	}
	return s.isCredentialParam(name)
}

// principal names who a request speaks for: every credential it carries,
// in a stable form. AWS Signature V4 speaks for its access key id: the
// signature and date change on every request of the same principal.
func (s *Settings) principal(r *Request) string {
	var parts []string
	for name, vs := range r.Header {
		if !s.isCredentialHeader(name) {
			continue
		}
		for _, v := range vs {
			if scheme, rest, _ := strings.Cut(v, " "); strings.EqualFold(scheme, "SharedKey") {
				account, _, _ := strings.Cut(rest, ":")
				v = "sharedkey:" + account // Azure signs anew each request: the account is who
			}
			if strings.HasPrefix(v, "AWS4-HMAC-SHA256 ") {
				if i := strings.Index(v, "Credential="); i >= 0 {
					cred := v[i+len("Credential="):]
					akid, _, _ := strings.Cut(cred, "/")
					v = "aws4:" + akid
				}
			}
			if strings.EqualFold(name, "Cookie") {
				// A set of cookies (docs/http-semantics.md): the order
				// on the line names no one.
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
	if u, err := url.Parse(r.URL); err == nil {
		if u.User != nil {
			parts = append(parts, "u:"+u.User.String())
		}
		for _, m := range strings.FieldsFunc(u.RawQuery, func(r rune) bool { return r == '&' || r == ';' }) {
			name, value, _ := strings.Cut(m, "=")
			n, err := url.QueryUnescape(name)
			switch {
			case err != nil:
			case signedURLParam(n):
				if strings.HasSuffix(strings.ToLower(n), "-credential") {
					v, _ := url.QueryUnescape(value)
					akid, _, _ := strings.Cut(v, "/")
					parts = append(parts, "q:signed="+akid)
				}
			case s.isCredentialParam(n):
				parts = append(parts, "q:"+n+"="+value)
			default:
				if _, p := shapedCredential(n, value, u.RawQuery); p != "" {
					parts = append(parts, "q:"+p)
				}
			}
		}
	}
	for name, value := range s.bodyFields(r, true) {
		parts = append(parts, "b:"+name+"="+value)
	}
	sort.Strings(parts)
	return strings.Join(parts, "\n")
}

// bodyFields returns the form or JSON object fields of a request body:
// credentials only (creds true) or everything else.
func (s *Settings) bodyFields(r *Request, creds bool) map[string]string {
	out := map[string]string{}
	if len(r.Body) == 0 {
		return out
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case mt == "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(r.Body))
		if err != nil {
			out["\x00raw"] = string(r.Body)
			return out
		}
		for k, vs := range vals {
			if s.isCredentialParam(k) == creds {
				out[k] = strings.Join(vs, "\x00")
			}
		}
	case mt == "application/json":
		var obj map[string]any
		if err := json.Unmarshal(r.Body, &obj); err != nil {
			if !creds {
				out["\x00raw"] = string(r.Body)
			}
			return out
		}
		for k, v := range obj {
			if s.isCredentialParam(k) == creds {
				b, _ := json.Marshal(v)
				out[k] = string(b)
			}
		}
	case strings.HasPrefix(mt, "multipart/"):
		_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		fields, ok := multipartFields(r.Body, params["boundary"])
		if !ok {
			// Unparsable: it may hold anything, so it is a credential
			// of its own as much as what selects.
			out["\x00raw"] = string(r.Body)
			return out
		}
		for k, v := range fields {
			if s.isCredentialParam(k) == creds {
				out[k] = v
			}
		}
	default:
		if !creds {
			out["\x00raw"] = string(r.Body)
		}
	}
	return out
}

// multipartFields reads a multipart form's fields (name to value; the
// values of a repeated name joined); ok is false when it does not parse.
func multipartFields(body []byte, boundary string) (map[string]string, bool) {
	if boundary == "" {
		return nil, false
	}
	out := map[string]string{}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return out, true
		}
		if err != nil {
			return nil, false
		}
		v, err := io.ReadAll(p)
		if err != nil {
			return nil, false
		}
		if name := p.FormName(); name != "" {
			if old, ok := out[name]; ok {
				out[name] = old + "\x00" + string(v)
			} else {
				out[name] = string(v)
			}
		}
	}
}

// bodyForm is the body as it selects a response: its type and its fields
// other than credentials, in a stable form.
func (s *Settings) bodyForm(r *Request) string {
	if len(r.Body) == 0 {
		return ""
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	fields := s.bodyFields(r, false)
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(mt)
	for _, n := range names {
		b.WriteString("\n" + n + "=" + fields[n])
	}
	return b.String()
}

// weightedLists are the request headers whose members are case-insensitive
// tokens with weights (RFC 9110 §12.4.2): order among equal weights, case
// and the spelling of a weight select nothing.
var weightedLists = map[string]bool{"Accept-Language": true, "Accept-Encoding": true, "Accept-Charset": true}

type weighted struct {
	token  string
	weight int // thousandths
}

func parseWeighted(h http.Header, name string) ([]weighted, bool) {
	var out []weighted
	for _, line := range h.Values(name) {
		for _, m := range strings.Split(line, ",") {
			m = strings.TrimSpace(m)
			if m == "" {
				continue
			}
			token, params, _ := strings.Cut(m, ";")
			w := weighted{token: strings.ToLower(strings.TrimSpace(token)), weight: 1000}
			if params = strings.TrimSpace(params); params != "" {
				k, v, ok := strings.Cut(params, "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
					return nil, false
				}
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 || f > 1 {
					return nil, false
				}
				w.weight = int(f*1000 + 0.5)
			}
			out = append(out, w)
		}
	}
	return out, true
}

// selected is a request's value of a header that a response varies on, in
// the form in which two values select the same response.
func selected(h http.Header, name string) string {
	if weightedLists[name] {
		if ws, ok := parseWeighted(h, name); ok {
			set := map[weighted]bool{}
			for _, w := range ws {
				set[w] = true
			}
			var out []string
			for w := range set {
				out = append(out, w.token+";"+strconv.Itoa(w.weight))
			}
			sort.Strings(out)
			return strings.Join(out, ",")
		}
	}
	var members []string
	for _, line := range h.Values(name) {
		for _, m := range strings.Split(line, ",") {
			if m = strings.TrimSpace(m); m != "" {
				members = append(members, m)
			}
		}
	}
	return strings.Join(members, ",")
}

// topLanguage is the one language an Accept-Language prefers above all
// others, or "".
func topLanguage(h http.Header) string {
	ws, ok := parseWeighted(h, "Accept-Language")
	if !ok {
		return ""
	}
	best, bestW, tie := "", 0, false
	for _, w := range ws {
		switch {
		case w.weight > bestW:
			best, bestW, tie = w.token, w.weight, false
		case w.weight == bestW && w.token != best:
			tie = true
		}
	}
	if tie || best == "*" {
		return ""
	}
	return best
}

// varyNames are the canonical header names a response varies on; star for
// "Vary: *".
func varyNames(h http.Header) (names []string, star bool) {
	seen := map[string]bool{}
	for _, line := range h.Values("Vary") {
		for _, n := range strings.Split(line, ",") {
			n = strings.TrimSpace(n)
			if n == "" {
				continue
			}
			if n == "*" {
				return nil, true
			}
			c := http.CanonicalHeaderKey(n)
			if !seen[c] {
				seen[c] = true
				names = append(names, c)
			}
		}
	}
	sort.Strings(names)
	return names, false
}

// ByteRange reads a single "bytes=first-last" range of a representation of
// size n.
func ByteRange(v string, n int64) (first, last int64, ok bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(v), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	a, b, _ := strings.Cut(spec, "-")
	if a == "" {
		k, err := strconv.ParseInt(b, 10, 64)
		if err != nil || k <= 0 || n == 0 {
			return 0, 0, false
		}
		return max(0, n-k), n - 1, true
	}
	first, err := strconv.ParseInt(a, 10, 64)
	if err != nil || first >= n {
		return 0, 0, false
	}
	last = n - 1
	if b != "" {
		if last, err = strconv.ParseInt(b, 10, 64); err != nil || last < first {
			return 0, 0, false
		}
		last = min(last, n-1)
	}
	return first, last, true
}

// contentRange reads "bytes first-last/complete".
func contentRange(v string) (first, last, complete int64, ok bool) {
	spec, found := strings.CutPrefix(v, "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	r, c, _ := strings.Cut(spec, "/")
	a, b, _ := strings.Cut(r, "-")
	var err1, err2, err3 error
	first, err1 = strconv.ParseInt(a, 10, 64)
	last, err2 = strconv.ParseInt(b, 10, 64)
	complete, err3 = strconv.ParseInt(c, 10, 64)
	return first, last, complete, err1 == nil && err2 == nil && err3 == nil && first <= last && last < complete
}

// AcceptsGzip reports whether a request header accepts the gzip content
// coding: its Accept-Encoding lists gzip (or x-gzip), or "*", with a
// weight above zero. A request without the header accepts none: in Go the
// Transport asks for gzip below the caller and decompresses, so the
// caller itself reads bytes as they come.
func AcceptsGzip(h http.Header) bool {
	ws, ok := parseWeighted(h, "Accept-Encoding")
	if !ok {
		return false
	}
	star := 0
	for _, w := range ws {
		switch w.token {
		case "gzip", "x-gzip":
			return w.weight > 0
		case "*":
			star = w.weight
		}
	}
	return star > 0
}

// ExcludesCoding reports whether a request's Accept-Encoding rules out a
// content coding explicitly (RFC 9110 §12.5.3): the coding with q=0, "*"
// with q=0 and the coding not listed above zero, or "identity" as the only
// coding asked for. (Not listing a coding is no exclusion: without Vary,
// a stored coding may answer such a request, RFC 9111 §4.1.)
func ExcludesCoding(h http.Header, coding string) bool {
	ws, ok := parseWeighted(h, "Accept-Encoding")
	if !ok || len(ws) == 0 {
		return false
	}
	coding = strings.ToLower(coding)
	identityOnly, starZero, listed := true, false, false
	for _, w := range ws {
		if w.token == coding {
			if w.weight == 0 {
				return true
			}
			listed = true
		}
		if w.token == "*" {
			starZero = w.weight == 0
		}
		if w.token != "identity" {
			identityOnly = false
		}
	}
	return !listed && (starZero || identityOnly)
}

// gunzip is the body an http.Transport hands over for a gzip one.
func gunzip(b []byte) ([]byte, bool) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, false
	}
	out, err := io.ReadAll(zr)
	return out, err == nil
}
