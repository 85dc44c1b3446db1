package cachekey

import (
	"net/http"
	"strings"
	"testing"
)

// Credentials known by their shape (issue 38, findings 2 and 4): an Azure
// SAS signature ("sig" beside "sv") and a Google API key ("AIza" and 35
// more) leave keys and are REDACTED wherever the URL is stored, shown or
// logged; one grant's or one key's requests share a key, two never do
// under separate_credentials; and the same names in other shapes are
// ordinary parameters, naming the resource.
func TestCredentialsKnownByTheirShape(t *testing.T) {
	k := New(nil, false, nil) // no ignored parameters: the shape alone decides
	secret := []byte(strings.Repeat("k", 32))
	const (
		sasA = "sv=2025-11-05&se=2026-12-08T10%3A00%3A00Z&sr=b&sp=r&sig=SIGa%2Bb%3D"
		sasB = "sv=2025-11-05&se=2026-12-08T10%3A00%3A00Z&sr=b&sp=r&sig=SIGother%3D"
		keyA = "AIzaSyA1234567890abcdefghijklmnopqrstuv"
		keyB = "AIzaSyB1234567890abcdefghijklmnopqrstuv"
	)
	cases := []struct {
		name                 string
		one, same, other     string // a request, another of the same principal, one of another
		secretsA             []string
		plainSharesWithOther bool // without separate_credentials: other shares one's key
	}{
		{name: "Azure SAS", one: "https://acct.blob.core.windows.net/c/b.json?" + sasA, same: "https://acct.blob.core.windows.net/c/b.json?" + sasA,
			other: "https://acct.blob.core.windows.net/c/b.json?" + sasB, secretsA: []string{"SIGa"}, plainSharesWithOther: true},
		{name: "Google API key", one: "https://www.googleapis.com/books/v1/volumes/v1?key=" + keyA + "&alt=json", same: "https://www.googleapis.com/books/v1/volumes/v1?alt=json&key=" + keyA,
			other: "https://www.googleapis.com/books/v1/volumes/v1?key=" + keyB + "&alt=json", secretsA: []string{keyA}, plainSharesWithOther: true},
		{name: "a Google key under another name, on another host", one: "http://127.0.0.1:9000/proxy?api=" + keyA, same: "http://127.0.0.1:9000/proxy?api=" + keyA,
			other: "http://127.0.0.1:9000/proxy?api=" + keyB, secretsA: []string{keyA}, plainSharesWithOther: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			one, same, other := request(t, "GET", c.one, nil), request(t, "GET", c.same, nil), request(t, "GET", c.other, nil)
			if k.Primary(one, nil, secret) != k.Primary(same, nil, secret) {
				t.Fatal("one principal's two requests have two keys")
			}
			if k.Primary(one, nil, secret) == k.Primary(other, nil, secret) {
				t.Fatal("two principals share a key under separate_credentials")
			}
			if (k.Key(one, nil) == k.Key(other, nil)) != c.plainSharesWithOther {
				t.Fatalf("without separate_credentials, sharing is %v", k.Key(one, nil) == k.Key(other, nil))
			}
			if k.URIKey(one) != k.URIKey(other) {
				t.Fatal("two principals' requests name two resources: a write by one would not invalidate the other's")
			}
			if k.Bare(one, nil) || !k.HasCredentials(c.one) {
				t.Fatal("the URL is not seen to carry a credential")
			}
			shown := []string{k.RedactedURL(one.URL), k.RedactURLText(c.one), k.BareURL(one.URL).String(),
				k.ScrubError(&urlError{u: c.one}, one), string(k.RedactedHeader(http.Header{"Referer": {c.one}}).Get("Referer"))}
			for _, s := range shown {
				for _, secretValue := range c.secretsA {
					if strings.Contains(s, secretValue) {
						t.Fatalf("a credential in the clear: %q", s)
					}
				}
			}
		})
	}

	// A SAS's grant describes who may read, not what: the blob's own URL
	// names the resource its SAS URLs read (a write to it invalidates them).
	sas, plain := request(t, "GET", cases[0].one, nil), request(t, "GET", "https://acct.blob.core.windows.net/c/b.json", nil)
	if k.URIKey(sas) != k.URIKey(plain) || k.Key(sas, nil) != k.Key(plain, nil) {
		t.Fatal("a SAS URL names another resource than its blob")
	}
	// A response-header override changes the response: it stays in the key.
	if over := request(t, "GET", cases[0].one+"&rsct=text%2Fplain", nil); k.Key(over, nil) == k.Key(sas, nil) {
		t.Fatal("a SAS with rsct shares the key of one without")
	}

	// The same names in other shapes name the resource.
	for _, pair := range [][2]string{
		{"https://api.example.com/lookup?key=alpha", "https://api.example.com/lookup?key=beta"},
		{"https://api.example.com/img?sig=1", "https://api.example.com/img?sig=2"}, // no "sv": not a SAS
		{"https://api.example.com/k?key=AIzaShort", "https://api.example.com/k?key=AIzaOther"},
	} {
		a, b := request(t, "GET", pair[0], nil), request(t, "GET", pair[1], nil)
		if k.Key(a, nil) == k.Key(b, nil) || k.URIKey(a) == k.URIKey(b) || k.RedactedURL(a.URL) != pair[0] || k.HasCredentials(pair[0]) {
			t.Fatalf("%s and %s: an ordinary parameter taken for a credential", pair[0], pair[1])
		}
	}
}

type urlError struct{ u string }

func (e *urlError) Error() string { return `Get "` + e.u + `": connection refused` }
