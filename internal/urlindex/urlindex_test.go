package urlindex

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/reqcache/reqcache/internal/cachekey"
	"github.com/reqcache/reqcache/stores"
)

// No key a key function returns, rewritten by Own, is a key derived here
// from another (a part, a language alias), a rewritten key, or the
// session's own alias; keys of other shapes stay as they are.
func TestOwnKeysNeverMeetDerivedKeys(t *testing.T) {
	for _, k := range []string{"/doc", "tenant-1:/doc", "", "GET https://x.test/a?b=1"} {
		if Own(k) != k {
			t.Errorf("Own(%q) = %q: a plain key was rewritten", k, Own(k))
		}
	}
	victim := "/doc"
	derived := []string{Part(victim), Language(victim, "en"), "reqcache:credential-key", Own(Part(victim))}
	for _, k := range derived {
		own := Own(k)
		if slices.Contains(derived[:3], own) || own == victim {
			t.Errorf("Own(%q) = %q: a key function's key meets a derived or session key", k, own)
		}
		if !strings.HasPrefix(own, ownPrefix) || Own(own) == own {
			t.Errorf("Own(%q) = %q: not rewritten under %q, or a rewritten key passes as plain", k, own, ownPrefix)
		}
	}
	if Own(Part(victim)) == Own(Part("/other")) {
		t.Error("two rewritten keys are one")
	}
}

func TestAliasValues(t *testing.T) {
	if a := ParseAlias(RedirectTo("final")); a.Kind != RedirectAlias || a.Target != "final" {
		t.Fatalf("redirect: %+v", a)
	}
	idx := cachekey.VaryIndex{Names: []string{"Accept"}, Variants: []string{"v1", "v2"}}
	a := ParseAlias(idx.Encode())
	if a.Kind != VaryAlias || !slices.Equal(a.Index.Variants, idx.Variants) {
		t.Fatalf("vary index: %+v", a)
	}
	if !a.LeadsTo(func(k string) bool { return k == "v2" }) || a.LeadsTo(func(k string) bool { return k == "final" }) {
		t.Fatal("a Vary index leads to its variants, and only to them")
	}
	if a := ParseAlias("variantkey"); a.Kind != KeyAlias || !a.LeadsTo(func(k string) bool { return k == "variantkey" }) {
		t.Fatalf("a language alias's value is its variant's key: %+v", a)
	}
}

// Walk visits, in order, the primary key, the variant the request's Vary
// headers select (or a redirect's final key), then the variant in the
// language it prefers; it stops where visit says, and an alias the store
// fails to read ends it with that error (not a missing one).
func TestWalkVisitsInLookupOrder(t *testing.T) {
	keys := cachekey.New(nil, false, nil)
	ctx := context.Background()
	idx := cachekey.VaryIndex{Names: []string{"Accept-Language"}}
	req := http.Header{"Accept-Language": {"de, en;q=0.5"}}
	variant := keys.VariantKey("p", idx.Names, req)
	aliases := map[string]string{"p": idx.Encode(), Language("p", "de"): "german", "r": RedirectTo("final")}
	read := func(_ context.Context, alias string) (string, error) {
		if v, ok := aliases[alias]; ok {
			return v, nil
		}
		return "", stores.ErrNotFound
	}
	walk := func(primary string, h http.Header, stopAt string) (got []string, indexed bool) {
		indexed, err := Walk(ctx, keys, primary, h, read, func(s Step) bool {
			got = append(got, s.Key+"/"+[]string{"primary", "variant", "redirect", "language"}[s.Via])
			return s.Key == stopAt
		})
		if err != nil {
			t.Fatal(err)
		}
		return got, indexed
	}
	if got, indexed := walk("p", req, ""); !slices.Equal(got, []string{"p/primary", variant + "/variant", "german/language"}) || !indexed {
		t.Fatalf("a Vary index on Accept-Language: %v (indexed %v)", got, indexed)
	}
	if got, _ := walk("p", req, "p"); !slices.Equal(got, []string{"p/primary"}) {
		t.Fatalf("stopped at the primary key: %v", got)
	}
	if got, _ := walk("r", nil, ""); !slices.Equal(got, []string{"r/primary", "final/redirect"}) {
		t.Fatalf("a redirect alias: %v", got)
	}
	if got, indexed := walk("plain", nil, ""); !slices.Equal(got, []string{"plain/primary"}) || indexed {
		t.Fatalf("no alias: %v (indexed %v)", got, indexed)
	}
	down := errors.New("down")
	_, err := Walk(ctx, keys, "p", req, func(context.Context, string) (string, error) { return "", down }, func(Step) bool { return false })
	if !errors.Is(err, down) {
		t.Fatalf("a store error reading the alias: %v", err)
	}
}
