package cachekey

import (
	"crypto/sha256"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// This file is the part of Vary (RFC 9111 §4.1) that keys take part in:
// the header names a response varies on, the variant key a request
// selects, and whether a stored response's request matches another.

// VaryNames returns the canonical header names a response varies on, sorted
// and unique; star is true for "Vary: *". The slice is shared and must not
// be written to: a response that varies on one common header (most do:
// Accept-Encoding) gets a slice kept for it, so that every miss need not
// allocate one.
func VaryNames(h http.Header) (names []string, star bool) {
	first := ""
	for _, v := range h["Vary"] {
		for v != "" {
			var f string
			f, v, _ = strings.Cut(v, ",")
			if f = strings.TrimSpace(f); f == "" {
				continue
			}
			if f == "*" {
				return nil, true
			}
			f = http.CanonicalHeaderKey(f)
			switch {
			case first == "":
				first = f
			case names == nil && f != first:
				names = []string{first, f}
			case names != nil:
				names = append(names, f)
			}
		}
	}
	if names == nil {
		if first == "" {
			return nil, false
		}
		if common, ok := commonVaryNames[first]; ok {
			return common, false
		}
		return []string{first}, false
	}
	sort.Strings(names)
	out := names[:1]
	for _, n := range names[1:] {
		if n != out[len(out)-1] {
			out = append(out, n)
		}
	}
	return out, false
}

// commonVaryNames are the one-name lists VaryNames shares.
var commonVaryNames = func() map[string][]string {
	m := map[string][]string{}
	for _, n := range []string{"Accept-Encoding", "Accept", "Accept-Language", "Origin", "Authorization", "Cookie", "User-Agent"} {
		m[n] = []string{n}[:1:1]
	}
	return m
}()

// SplitList splits a comma-separated header value, trimming spaces and
// dropping empty members.
func SplitList(v string) []string {
	var out []string
	for v != "" {
		var f string
		f, v, _ = strings.Cut(v, ",")
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// varyValue is a request's value for one Vary header, normalized so that
// forms the header's syntax makes equivalent select one variant (RFC 9111
// §4.1): several field lines are one list, whitespace around members does
// not count, and the weighted lists of case-insensitive tokens
// (weightedLists) are compared as sets of weights.
func varyValue(h http.Header, name string) string {
	vs := h.Values(name)
	if len(vs) == 0 {
		return ""
	}
	if len(vs) == 1 && singleToken(vs[0]) {
		return vs[0] // already in its one form: the usual "gzip", "en"
	}
	var parts []string
	for _, v := range vs {
		parts = append(parts, SplitList(v)...)
	}
	if weightedLists[name] {
		if norm, ok := normalizeWeighted(parts); ok {
			return norm
		}
	}
	return strings.Join(parts, ",")
}

// singleToken reports a value of one member, no parameter, nothing around
// it and no upper case: what varyValue would give back unchanged.
func singleToken(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == ',' || c == ';' || c == ' ' || c == '\t' || 'A' <= c && c <= 'Z':
			return false
		}
	}
	return true
}

// weightedLists are the request headers whose value is a list of
// case-insensitive tokens with optional weights, where members of equal
// weight are equally preferred (RFC 9110 §12.4.2): their order and case
// select nothing.
var weightedLists = map[string]bool{"Accept-Language": true, "Accept-Encoding": true, "Accept-Charset": true}

// normalizeWeighted is a weighted list in one form: members lower-cased
// without inner whitespace, "q=1" dropped, sorted by weight (highest
// first) then name, duplicates dropped. ok is false for a member with a
// parameter other than q or a weight that does not parse: the list is
// then compared as it is.
func normalizeWeighted(parts []string) (string, bool) {
	type member struct {
		token  string
		weight int // thousandths
	}
	ms := make([]member, 0, len(parts))
	for _, p := range parts {
		token, weight, ok := weightedMember(p)
		if !ok {
			return "", false
		}
		ms = append(ms, member{token: token, weight: weight})
	}
	sort.SliceStable(ms, func(i, j int) bool {
		if ms[i].weight != ms[j].weight {
			return ms[i].weight > ms[j].weight
		}
		return ms[i].token < ms[j].token
	})
	var b strings.Builder
	for i, m := range ms {
		if i > 0 && m == ms[i-1] {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(m.token)
		if m.weight != 1000 {
			b.WriteString(";q=0.")
			b.WriteString(strings.TrimRight(strconv.Itoa(1000 + m.weight)[1:], "0"))
			if m.weight == 0 {
				b.WriteByte('0')
			}
		}
	}
	return b.String(), true
}

// TopLanguage returns the language range an Accept-Language header prefers
// above all others (lower case), or "" when none does: no header, a tie at
// the top weight, "*", or a list that does not parse.
func TopLanguage(h http.Header) string {
	var parts []string
	for _, v := range h.Values("Accept-Language") {
		parts = append(parts, SplitList(v)...)
	}
	best, bestWeight, tie := "", -1, false
	for _, p := range parts {
		token, w, ok := weightedMember(p)
		if !ok {
			return ""
		}
		switch {
		case w > bestWeight:
			best, bestWeight, tie = token, w, false
		case w == bestWeight && token != best:
			tie = true
		}
	}
	if tie || best == "*" || bestWeight <= 0 {
		return ""
	}
	return best
}

// weightedMember reads one member of a weighted list ("gzip", "fr;q=0.5"):
// its token in lower case and its weight in thousandths (1000 when none
// is given); ok is false for a parameter other than q or a weight that
// does not parse.
func weightedMember(m string) (token string, weight int, ok bool) {
	token, params, _ := strings.Cut(m, ";")
	token = strings.ToLower(strings.TrimSpace(token))
	if params = strings.TrimSpace(params); params == "" {
		return token, 1000, true
	}
	k, v, found := strings.Cut(params, "=")
	if !found || !strings.EqualFold(strings.TrimSpace(k), "q") {
		return token, 0, false
	}
	weight, ok = parseWeight(strings.TrimSpace(v))
	return token, weight, ok
}

// parseWeight reads an RFC 9110 §12.4.2 qvalue ("0", "0.5", "1.000") in
// thousandths.
func parseWeight(v string) (int, bool) {
	whole, frac, _ := strings.Cut(v, ".")
	if (whole != "0" && whole != "1") || len(frac) > 3 {
		return 0, false
	}
	n := 0
	for i := 0; i < 3; i++ {
		n *= 10
		if i < len(frac) {
			if frac[i] < '0' || frac[i] > '9' {
				return 0, false
			}
			n += int(frac[i] - '0')
		}
	}
	if whole == "1" {
		if n != 0 {
			return 0, false
		}
		return 1000, true
	}
	return n, true
}

// VariantKey is the key of the variant of primary selected by the request
// headers h. The variant for a request that sends none of the Vary headers
// is the primary key itself, so that the most common case (a Go client
// varying on nothing, with Accept-Encoding added below the cache) costs one
// lookup. Credential headers take part as REDACTED: the primary key already
// separates them (separate_credentials), and their values never enter a
// stored key.
func (k *Keyer) VariantKey(primary string, names []string, h http.Header) string {
	empty := true
	for _, n := range names {
		if len(h[n]) > 0 {
			empty = false
			break
		}
	}
	if empty {
		return primary
	}
	// The hashed bytes are built on the stack: a variant hit allocated the
	// digest, its sum and each lower-cased name before.
	var buf [256]byte
	b := append(buf[:0], primary...)
	for _, n := range names {
		b = append(b, 0)
		for i := 0; i < len(n); i++ {
			c := n[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
		}
		b = append(b, '=')
		if k.IsCredential(n) {
			if len(h[n]) > 0 {
				b = append(b, Redacted...)
			}
			continue
		}
		b = append(b, varyValue(h, n)...)
	}
	sum := sha256.Sum256(b)
	return hexKey(sum[:16])
}

// VaryMatches reports whether a request with header reqHeader selects the
// stored response (whose request headers were stored), per RFC 9111 §4.1.
// Credential headers are stored REDACTED and are matched by the
// credential-separated key that found the entry, so only their presence is
// compared. It allocates only when the values differ in form.
func (k *Keyer) VaryMatches(respHeader, storedReq, reqHeader http.Header) bool {
	for _, v := range respHeader["Vary"] {
		for v != "" {
			var f string
			f, v, _ = strings.Cut(v, ",")
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			if f == "*" {
				return false
			}
			name := http.CanonicalHeaderKey(f)
			if k.IsCredential(name) {
				if (len(storedReq[name]) > 0) != (len(reqHeader[name]) > 0) {
					return false
				}
				continue
			}
			if !slices.Equal(storedReq[name], reqHeader[name]) && varyValue(storedReq, name) != varyValue(reqHeader, name) {
				return false
			}
		}
	}
	return true
}

// VaryUncacheable reports a Vary that must never be served from the cache:
// "*", or, when entries are shared across credentials (separate false), a
// header holding credentials: stored redacted, a variant could never be
// told apart per user. With separate_credentials the key already holds a
// keyed hash of the credentials, which is what such a Vary asks for (GitHub's
// API sends "Vary: Accept, Authorization, Cookie" on every response).
func (k *Keyer) VaryUncacheable(names []string, star, separate bool) bool {
	if star {
		return true
	}
	if separate {
		return false
	}
	for _, n := range names {
		if k.IsCredential(n) {
			return true
		}
	}
	return false
}

// IsCredential reports a header name that counts as a credential.
func (k *Keyer) IsCredential(name string) bool {
	return isCredentialHeader(name) || k.IsIgnored(name)
}

// Selectors copies the fields of a request header that a response varies
// on (nil when it varies on none): what selects the response, kept as it
// was whatever the request's owner does with it afterwards.
func Selectors(h http.Header, names []string) http.Header {
	var out http.Header
	for _, n := range names {
		if vs := h[n]; len(vs) > 0 {
			if out == nil {
				out = make(http.Header, len(names))
			}
			out[n] = slices.Clone(vs)
		}
	}
	return out
}
