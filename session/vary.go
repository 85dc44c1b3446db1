package session

import (
	"errors"
	"net/http"
	"strings"

	"github.com/reqcache/reqcache/internal/cachekey"
	"github.com/reqcache/reqcache/stores"
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
	// langSuffix names the alias from a URL's primary key and a language
	// to its variant in that Content-Language (languageVariant).
	langSuffix = "|lang="
	// maxVariants bounds the variant keys remembered for one URL.
	maxVariants = 64
)

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

// languageOf returns the one language of a response that varies on
// Accept-Language alone, or "": the only responses a request may get by
// its preferred language rather than by its exact Accept-Language
// (cache-tests' vary-normalise-lang-select).
func languageOf(h http.Header) string {
	names, star := cachekey.VaryNames(h)
	if star || len(names) != 1 || names[0] != "Accept-Language" {
		return ""
	}
	langs := cachekey.SplitList(h.Get("Content-Language"))
	if len(langs) != 1 || len(h.Values("Content-Language")) != 1 {
		return ""
	}
	return strings.ToLower(langs[0])
}

// languageVariant finds, for a request whose exact Accept-Language has no
// stored variant, the variant in the language it prefers above all others:
// the response an origin negotiating on Accept-Language gives it too.
func (s *Session) languageVariant(x *exchange) (*stores.Entry, string) {
	top := cachekey.TopLanguage(x.req.Header)
	if top == "" {
		return nil, ""
	}
	target, err := s.store.GetAlias(x.req.Context(), x.key+langSuffix+top)
	if err != nil {
		if !errors.Is(err, stores.ErrNotFound) {
			s.storeError("get alias", err)
		}
		return nil, ""
	}
	e, ok := s.get(x, target)
	if !ok || languageOf(e.Header) != top {
		return nil, ""
	}
	return s.usable(x, e, target)
}
