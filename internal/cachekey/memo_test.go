package cachekey

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/reqcache/reqcache/config"
)

// The memo answers only what computing would: for any body-less request,
// asked for once, twice or more, among others that share its slot.
func FuzzKeyMemo(f *testing.F) {
	f.Add("GET", "http://Example.COM:80/a/../b?z=1&a=2&api_key=x#frag", "", "http://example.com/b?a=2&z=1")
	f.Add("get", "https://user:pw@example.com/x?", "other.example", "https://example.com/x")
	f.Add("HEAD", "http://[::1]:8080/p%2Fq?%zz=1&&=", "[::1]:8080", "http://[::1]:8080/p/q")
	f.Add("GET", "mailto:someone@example.com", "", "http://h/?")
	k := New(config.DefaultIgnoredParameters(), false, nil)
	secret := []byte("0123456789abcdef0123456789abcdef")
	f.Fuzz(func(t *testing.T, method, rawA, host, rawB string) {
		ua, errA := url.Parse(rawA)
		ub, errB := url.Parse(rawB)
		if errA != nil || errB != nil {
			return
		}
		a := &http.Request{Method: method, URL: ua, Host: host, Header: http.Header{}}
		b := &http.Request{Method: method, URL: ub, Header: http.Header{"Authorization": {"Bearer x"}}}
		wantA, _, _, _ := k.computeParts(a, nil, false)
		wantB, _, _, _ := k.computeParts(b, nil, false)
		for i, r := range []*http.Request{a, a, b, a, b, b, a} {
			want := wantA
			if r == b {
				want = wantB
			}
			if got := k.Key(r, nil); got != want {
				t.Fatalf("call %d: key %s, computed %s", i, got, want)
			}
			got, uri := k.PrimaryAndURI(r, nil, secret)
			if want := k.separate(want, r, nil, secret, true, false); got != want {
				t.Fatalf("call %d: primary %s, computed %s", i, got, want)
			}
			if want := k.URIKey(r); uri != want {
				t.Fatalf("call %d: URI key %q with the key, %q computed", i, uri, want)
			}
		}
	})
}

// A URL asked for again costs no allocation for its key; one asked for
// once costs none for the memo.
func TestKeyMemoAllocations(t *testing.T) {
	k := New(config.DefaultIgnoredParameters(), false, nil)
	u, _ := url.Parse("http://api.example.com/v1/items?id=42&page=1")
	req := &http.Request{Method: http.MethodGet, URL: u, Header: http.Header{}}
	k.Key(req, nil)
	k.Key(req, nil)
	if n := testing.AllocsPerRun(100, func() { k.Key(req, nil) }); n != 0 {
		t.Errorf("a remembered key: %v allocations, want 0", n)
	}
	// Requests made beforehand, on the heap as a client's are: what is
	// counted is the key's work alone.
	reqs := make([]*http.Request, 202)
	for i := range reqs {
		u, _ := url.Parse("http://api.example.com/v1/items?id=" + itoa(i))
		reqs[i] = &http.Request{Method: http.MethodGet, URL: u, Header: http.Header{}}
	}
	i := 0
	computed := testing.AllocsPerRun(100, func() { k.computeParts(reqs[i], nil, true); i++ })
	if n := testing.AllocsPerRun(100, func() { k.Key(reqs[i], nil); i++ }); n != computed {
		t.Errorf("a URL asked for once: %v allocations, computing alone %v", n, computed)
	}
}

func itoa(i int) string { return string(rune('a'+i%26)) + string(rune('a'+i/26%26)) }

// With headers matched or a body, nothing is remembered.
func TestKeyMemoOnlyForPureKeys(t *testing.T) {
	u, _ := url.Parse("http://api.example.com/v1/items")
	req := &http.Request{Method: http.MethodGet, URL: u, Header: http.Header{"Accept": {"a"}}}
	k := New(nil, false, []string{"Accept"})
	first := k.Key(req, nil)
	k.Key(req, nil)
	req.Header.Set("Accept", "b")
	if k.Key(req, nil) == first {
		t.Fatal("a matched header's change did not change the key")
	}
	if k.keyMemo.Load() != nil {
		t.Error("a Keyer that matches headers made a memo")
	}
}
