package session

import (
	"crypto/sha256"
	"net/http"
	"slices"
	"sort"
	"strings"
)

// This file is Vary (RFC 9111 §4.1). Responses without Vary are stored under
// the request's primary key. A response with Vary is stored under a variant
// key (the primary key plus the request's values of the Vary headers), and
// the primary key's alias records the Vary header names and the variant keys
// seen, so that variants coexist and can all be invalidated together.
// Redirect aliases share the alias space: one alias per primary key.

const (
	aliasVary     = "v:"
	aliasRedirect = "r:"
	// maxVariants bounds the variant keys remembered for one URL.
	maxVariants = 64
)

// varyNames returns the canonical header names a response varies on, sorted
// and unique; star is true for "Vary: *".
func varyNames(h http.Header) (names []string, star bool) {
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
			names = append(names, http.CanonicalHeaderKey(f))
		}
	}
	if len(names) < 2 {
		return names, false
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

// splitList splits a comma-separated header value, trimming spaces and
// dropping empty members.
func splitList(v string) []string {
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
// whitespace differences do not split variants.
func varyValue(h http.Header, name string) string {
	vs := h.Values(name)
	if len(vs) == 0 {
		return ""
	}
	var parts []string
	for _, v := range vs {
		parts = append(parts, splitList(v)...)
	}
	return strings.Join(parts, ",")
}

// variantKey is the key of the variant of primary selected by the request
// headers h. The variant for a request that sends none of the Vary headers
// is the primary key itself, so that the most common case (a Go client
// varying on nothing, with Accept-Encoding added below the cache) costs one
// lookup. Credential headers take part as REDACTED: the primary key already
// separates them (separate_credentials), and their values never enter a
// stored key.
func (k *keyer) variantKey(primary string, names []string, h http.Header) string {
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
	d := sha256.New()
	d.Write([]byte(primary))
	for _, n := range names {
		d.Write([]byte{0})
		d.Write([]byte(strings.ToLower(n)))
		d.Write([]byte{'='})
		if k.isCredential(n) {
			if len(h[n]) > 0 {
				d.Write([]byte(Redacted))
			}
			continue
		}
		d.Write([]byte(varyValue(h, n)))
	}
	return sumHex(d)
}

// varyMatches reports whether a request with header reqHeader selects the
// stored response (whose request headers were stored), per RFC 9111 §4.1.
// Credential headers are stored REDACTED and are matched by the
// credential-separated key that found the entry, so only their presence is
// compared. It allocates only when the values differ in form.
func (k *keyer) varyMatches(respHeader, storedReq, reqHeader http.Header) bool {
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
			if k.isCredential(name) {
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

// varyIndex is the decoded value of a Vary alias.
type varyIndex struct {
	names    []string
	variants []string
}

func (v varyIndex) encode() string {
	return aliasVary + strings.Join(v.names, ",") + "|" + strings.Join(v.variants, " ")
}

func decodeVaryIndex(s string) (varyIndex, bool) {
	rest, ok := strings.CutPrefix(s, aliasVary)
	if !ok {
		return varyIndex{}, false
	}
	names, variants, ok := strings.Cut(rest, "|")
	if !ok || names == "" {
		return varyIndex{}, false
	}
	return varyIndex{names: strings.Split(names, ","), variants: strings.Fields(variants)}, true
}

// withVariant returns the index for names with key added (a different set
// of names starts a new index).
func (v varyIndex) withVariant(names []string, key string) varyIndex {
	if strings.Join(v.names, ",") != strings.Join(names, ",") {
		return varyIndex{names: names, variants: []string{key}}
	}
	for _, k := range v.variants {
		if k == key {
			return v
		}
	}
	vs := append(append([]string(nil), v.variants...), key)
	if len(vs) > maxVariants {
		vs = vs[len(vs)-maxVariants:]
	}
	return varyIndex{names: names, variants: vs}
}

// varyUncacheable reports a Vary that must never be served from the cache:
// "*", or, when entries are shared across credentials (separate false), a
// header holding credentials: stored redacted, a variant could never be
// told apart per user. With separate_credentials the key already holds a
// keyed hash of the credentials, which is what such a Vary asks for (GitHub's
// API sends "Vary: Accept, Authorization, Cookie" on every response).
func (k *keyer) varyUncacheable(names []string, star, separate bool) bool {
	if star {
		return true
	}
	if separate {
		return false
	}
	for _, n := range names {
		if k.isCredential(n) {
			return true
		}
	}
	return false
}

// isCredential reports a header name that counts as a credential.
func (k *keyer) isCredential(name string) bool {
	return isCredentialHeader(name) || k.isIgnored(name)
}
