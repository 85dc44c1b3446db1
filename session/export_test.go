package session_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
)

// fixtureOrigin answers a plain page, a page that varies on Accept-Language,
// a binary body and a redirect.
func fixtureOrigin(t *testing.T) *origin {
	return newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/lang":
			w.Header().Set("Vary", "Accept-Language")
			io.WriteString(w, "hello in "+r.Header.Get("Accept-Language"))
		case "/bin":
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write([]byte{0xff, 0x00, 0xfe, 'x'})
		case "/old":
			http.Redirect(w, r, "/new", http.StatusMovedPermanently)
		default:
			w.Header().Set("X-Origin", "yes")
			io.WriteString(w, "page "+r.URL.Path)
		}
	})
}

type fixtureRequest struct{ path, lang string }

var fixtureRequests = []fixtureRequest{{"/a", ""}, {"/lang", "fr"}, {"/lang", "de"}, {"/bin", ""}, {"/old", ""}}

func askFixture(t *testing.T, c *http.Client, base string, r fixtureRequest) (string, *http.Response) {
	t.Helper()
	req := mustRequest(t, http.MethodGet, base+r.path, nil)
	if r.lang != "" {
		req.Header.Set("Accept-Language", r.lang)
	}
	return do(t, c, req)
}

func TestExportImportRoundTrip(t *testing.T) {
	o := fixtureOrigin(t)
	src := newSession(t, nil)
	want := map[fixtureRequest]string{}
	for _, r := range fixtureRequests {
		want[r], _ = askFixture(t, src.Client(), o.URL, r)
	}
	before := o.count()

	var buf bytes.Buffer
	n, err := src.Cache().Export(context.Background(), &buf, session.Filter{})
	if err != nil || n != 5 { // a, two variants, bin, new (the redirect is an alias)
		t.Fatalf("Export = %d, %v\n%s", n, err, buf.String())
	}
	if strings.Contains(buf.String(), session.CredentialKeyAlias) {
		t.Fatal("the credential key was exported")
	}
	var again bytes.Buffer
	src.Cache().Export(context.Background(), &again, session.Filter{})
	if again.String() != buf.String() {
		t.Fatal("two exports of the same cache differ: the order is not stable")
	}

	// Keyed again from their lines, the entries answer as before; the
	// redirect alias, which no line can vouch for, is not imported: the
	// redirect is asked of the origin again, its target is not.
	dst := newSession(t, nil)
	if n, err := dst.Cache().Import(context.Background(), bytes.NewReader(buf.Bytes())); err != nil || n != 5 {
		t.Fatalf("Import = %d, %v", n, err)
	}
	askAll := func(c *http.Client) {
		t.Helper()
		for _, r := range fixtureRequests {
			body, resp := askFixture(t, c, o.URL, r)
			if body != want[r] || !session.InfoOf(resp).FromCache {
				t.Fatalf("%+v after import: %q from cache %v, want %q from the cache", r, body, session.InfoOf(resp).FromCache, want[r])
			}
			if r.path == "/a" && resp.Header.Get("X-Origin") != "yes" {
				t.Fatalf("headers lost: %v", resp.Header)
			}
		}
	}
	askAll(dst.Client())
	wantCount(t, o, before+1)

	// Trusted (a file of this cache's), the aliases come along too.
	trusted := newSession(t, nil)
	if n, err := trusted.Cache().Import(context.Background(), bytes.NewReader(buf.Bytes()), session.TrustKeys()); err != nil || n != 5 {
		t.Fatalf("Import with TrustKeys = %d, %v", n, err)
	}
	askAll(trusted.Client())
	wantCount(t, o, before+1)
}

// A line whose key is another URL's must not answer that URL's requests
// (issue 27, finding 9): Import keys each entry from its own request.
func TestImportKeysEntriesByTheirOwnRequest(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "origin "+r.URL.Path) })
	src := newSession(t, nil)
	get(t, src.Client(), o.URL+"/admin")
	var buf bytes.Buffer
	if _, err := src.Cache().Export(context.Background(), &buf, session.Filter{}); err != nil {
		t.Fatal(err)
	}
	// The /admin line rewritten to say /public, with /admin's key.
	forged := strings.ReplaceAll(buf.String(), o.URL+"/admin", o.URL+"/public")
	forged = strings.ReplaceAll(forged, "origin /admin", "forged public page")

	dst := newSession(t, nil)
	_, err := dst.Cache().Import(context.Background(), strings.NewReader(forged))
	var ie *session.ImportError
	if !errors.As(err, &ie) || ie.Line != 1 {
		t.Fatalf("Import of a line keyed for another URL = %v, want an ImportError for line 1", err)
	}
	if n, _ := dst.Cache().Len(context.Background()); n != 0 {
		t.Fatalf("%d entries stored from a refused import", n)
	}
	if body, _ := get(t, dst.Client(), o.URL+"/admin"); body != "origin /admin" {
		t.Fatalf("GET /admin answered %q", body)
	}
	// Trusted anyway, the forged entry still lists under the URL it
	// states and is removed with it.
	trusted := newSession(t, nil)
	if _, err := trusted.Cache().Import(context.Background(), strings.NewReader(forged), session.TrustKeys()); err != nil {
		t.Fatal(err)
	}
	if n, err := trusted.Cache().Delete(context.Background(), session.Selector{URLs: []string{o.URL + "/public"}}); err != nil || n != 1 {
		t.Fatalf("Delete by the URL the line states = %d, %v", n, err)
	}
}

func TestImportRejectsMalformedInputAndKeepsTheCache(t *testing.T) {
	o := fixtureOrigin(t)
	src := newSession(t, nil)
	askFixture(t, src.Client(), o.URL, fixtureRequest{"/a", ""})
	var good bytes.Buffer
	if _, err := src.Cache().Export(context.Background(), &good, session.Filter{}); err != nil {
		t.Fatal(err)
	}
	valid := strings.TrimSuffix(good.String(), "\n")
	for _, tc := range []struct {
		name  string
		input string
		line  int
	}{
		{"empty file", "", 1},
		{"not JSON", valid + "\n{not json\n", 2},
		{"unknown version", strings.Replace(valid, `"v":1`, `"v":9`, 1), 1},
		{"bad base64", `{"v":1,"key":"k","method":"GET","url":"http://x/","status":200,"body_base64":"@@@","created_at":"2026-01-02T03:04:05Z"}`, 1},
		{"truncated last line", valid + "\n" + valid[:len(valid)/2], 2},
		{"unknown field", strings.Replace(valid, `"v":1`, `"v":1,"extra":true`, 1), 1},
		{"status out of range", strings.Replace(valid, `"status":200`, `"status":42`, 1), 1},
		{"neither key nor alias", `{"v":1}`, 1},
		{"the credential key", `{"v":1,"alias":"` + session.CredentialKeyAlias + `","value":"00"}`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := newSession(t, nil)
			askFixture(t, dst.Client(), o.URL, fixtureRequest{"/held", ""})
			n, err := dst.Cache().Import(context.Background(), strings.NewReader(tc.input))
			var ie *session.ImportError
			if !errors.As(err, &ie) || ie.Line != tc.line || n != 0 {
				t.Fatalf("Import = %d, %v; want an ImportError on line %d", n, err, tc.line)
			}
			if !strings.Contains(err.Error(), "line ") {
				t.Fatalf("error %q does not name the line", err)
			}
			if l, _ := dst.Cache().Len(context.Background()); l != 1 {
				t.Fatalf("the cache holds %d entries after a failed import, want the 1 it held", l)
			}
			if _, resp := askFixture(t, dst.Client(), o.URL, fixtureRequest{"/held", ""}); !session.InfoOf(resp).FromCache {
				t.Fatal("what the cache held is gone")
			}
		})
	}
}

func TestExportFilter(t *testing.T) {
	o := fixtureOrigin(t)
	clk := newClock()
	s := newSession(t, func(c *config.Config) { c.ExpireAfter = config.After(60e9) }, session.WithClock(clk.Now))
	askFixture(t, s.Client(), o.URL, fixtureRequest{"/old-page", ""})
	clk.Advance(2 * 60e9)
	askFixture(t, s.Client(), o.URL, fixtureRequest{"/new-page", ""})
	var buf bytes.Buffer
	n, err := s.Cache().Export(context.Background(), &buf, session.Filter{Expired: true})
	if err != nil || n != 1 || !strings.Contains(buf.String(), "/old-page") || strings.Contains(buf.String(), "/new-page") {
		t.Fatalf("Export(expired) = %d, %v:\n%s", n, err, buf.String())
	}
}

func TestExportByHost(t *testing.T) {
	a, b := fixtureOrigin(t), fixtureOrigin(t)
	s := newSession(t, nil)
	askFixture(t, s.Client(), a.URL, fixtureRequest{"/from-a", ""})
	askFixture(t, s.Client(), b.URL, fixtureRequest{"/from-b", ""})
	var buf bytes.Buffer
	host := strings.TrimPrefix(a.URL, "http://")
	if n, err := s.Cache().Export(context.Background(), &buf, session.Filter{Host: host}); err != nil || n != 1 || !strings.Contains(buf.String(), "/from-a") {
		t.Fatalf("Export(host %s) = %d, %v:\n%s", host, n, err, buf.String())
	}
}

// A lifetime the request's context gave (WithExpireAfter) or that
// ResetExpiration set is not in the line's headers: Import keeps it
// rather than deciding again from the settings (under which the entry
// would never expire here).
func TestImportKeepsALifetimeNoHeaderRecords(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "doc") })
	clk := newClock()
	src := newSession(t, nil, session.WithClock(clk.Now))
	req := mustRequest(t, http.MethodGet, o.URL+"/doc", nil)
	do(t, src.Client(), req.WithContext(session.WithExpireAfter(req.Context(), config.After(10*time.Minute))))
	var buf bytes.Buffer
	if _, err := src.Cache().Export(context.Background(), &buf, session.Filter{}); err != nil {
		t.Fatal(err)
	}
	dst := newSession(t, nil, session.WithClock(clk.Now))
	if n, err := dst.Cache().Import(context.Background(), &buf); err != nil || n != 1 {
		t.Fatalf("Import = %d, %v", n, err)
	}
	clk.Advance(5 * time.Minute)
	if _, resp := do(t, dst.Client(), mustRequest(t, http.MethodGet, o.URL+"/doc", nil)); !session.InfoOf(resp).FromCache {
		t.Fatalf("5 minutes in: not a hit (%s)", resp.Header.Get("Cache-Status"))
	}
	clk.Advance(6 * time.Minute)
	before := o.count()
	do(t, dst.Client(), mustRequest(t, http.MethodGet, o.URL+"/doc", nil))
	if o.count() != before+1 {
		t.Fatalf("11 minutes in, the imported 10-minute entry answered (%d origin requests, want %d)", o.count(), before+1)
	}
}

// An import does not bring back what an unsafe request invalidated after
// the line's response arrived (the oracle's replay import racing a DELETE,
// tiered seed 500016): the file is older than what this process knows.
func TestImportDoesNotUndoAnInvalidation(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		io.WriteString(w, "doc")
	})
	clk := newClock()
	s := newSession(t, nil, session.WithClock(clk.Now))
	get(t, s.Client(), o.URL+"/doc")
	var buf bytes.Buffer
	if _, err := s.Cache().Export(context.Background(), &buf, session.Filter{}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	do(t, s.Client(), mustRequest(t, http.MethodDelete, o.URL+"/doc", nil))
	var why []string
	n, err := s.Cache().Import(context.Background(), &buf, session.OnRefused(func(_ int, w string) { why = append(why, w) }))
	if err != nil || n != 0 || len(why) != 1 || why[0] != "invalidated" {
		t.Fatalf("Import after the DELETE = %d, %v, refused %v; want 0, refused as invalidated", n, err, why)
	}
	before := o.count()
	get(t, s.Client(), o.URL+"/doc")
	if o.count() != before+1 {
		t.Fatal("the invalidated response came back from the import")
	}
}
