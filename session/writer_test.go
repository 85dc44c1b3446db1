package session_test

import (
	"bytes"
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/session"
)

// These tests are issue 37's findings about the door in: writes that went
// around the storability decision, and credentials in shapes the keys did
// not know.

// Finding 1: a multipart POST whose form carries a credential, answered
// with explicit freshness and its own URL as Content-Location, is not
// stored as that URL's GET: the next anonymous GET goes to the origin.
func TestMultipartPOSTWithACredentialIsNotStoredAsItsGET(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Location", r.URL.Path)
		if r.Method == http.MethodPost {
			io.WriteString(w, "private to the token holder")
			return
		}
		io.WriteString(w, "public")
	})
	s := newSession(t, func(c *config.Config) { c.CacheControl = true })
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("access_token", "s3cret")
	mw.WriteField("q", "report")
	mw.Close()
	req := mustRequest(t, http.MethodPost, o.URL+"/doc", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	_, resp := do(t, s.Client(), req)
	if cs := resp.Header.Get("Cache-Status"); !strings.Contains(cs, "detail=body-credentials") {
		t.Errorf("the POST's Cache-Status is %q, want detail=body-credentials", cs)
	}
	got, resp := get(t, s.Client(), o.URL+"/doc")
	if got != "public" || session.InfoOf(resp).FromCache {
		t.Fatalf("an anonymous GET got %q (from cache %v): the token holder's response", got, session.InfoOf(resp).FromCache)
	}
	wantCount(t, o, 2)
}

// Finding 3: a 304 whose Content-Location carries a credential is merged
// with it redacted: neither the store nor an export holds the token.
func TestA304sContentLocationIsStoredRedacted(t *testing.T) {
	revalidated := false
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Cache-Control", "max-age=0")
		if r.Header.Get("If-None-Match") == `"v1"` {
			revalidated = true
			w.Header().Set("Content-Location", "/doc?access_token=s3cret&v=2")
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "doc")
	})
	s := newSession(t, func(c *config.Config) { c.CacheControl = true })
	for range 2 {
		if got, _ := get(t, s.Client(), o.URL+"/doc"); got != "doc" {
			t.Fatalf("got %q", got)
		}
	}
	if !revalidated {
		t.Fatal("the second request did not revalidate")
	}
	var export bytes.Buffer
	if n, err := s.Cache().Export(context.Background(), &export, session.Filter{}); err != nil || n != 1 {
		t.Fatalf("export: %d, %v", n, err)
	}
	if strings.Contains(export.String(), "s3cret") {
		t.Fatalf("the export holds the 304's credential: %s", export.String())
	}
	if !strings.Contains(export.String(), "access_token=REDACTED") {
		t.Fatalf("the 304's Content-Location was not merged (redacted): %s", export.String())
	}
}

// importLine is one line of an export, built from a stored response the
// test changes.
func exportLines(t *testing.T, s *session.Session) []map[string]any {
	t.Helper()
	var buf bytes.Buffer
	if _, err := s.Cache().Export(context.Background(), &buf, session.Filter{}); err != nil {
		t.Fatal(err)
	}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, m)
	}
	return lines
}

func encodeLines(t *testing.T, lines ...map[string]any) io.Reader {
	t.Helper()
	var buf bytes.Buffer
	for _, l := range lines {
		b, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(append(b, '\n'))
	}
	return &buf
}

// Finding 4: Import passes every line through the storability decision. A
// line with Set-Cookie and no-store, or a status outside allowable_codes,
// is not stored (reported to OnRefused), and the next GET goes to the
// origin; a line that may be stored loses what a store never keeps.
func TestImportPassesTheStorabilityDecision(t *testing.T) {
	o := newOrigin(t, text("from the origin"))
	src := newSession(t, nil)
	get(t, src.Client(), o.URL+"/doc")
	line := exportLines(t, src)[0]
	header := func(h map[string][]string) map[string]any {
		l := map[string]any{}
		for k, v := range line {
			l[k] = v
		}
		l["headers"] = h
		return l
	}
	for _, tc := range []struct {
		name   string
		line   map[string]any
		stored bool
		why    string
	}{
		{"no-store with Set-Cookie", header(map[string][]string{"Set-Cookie": {"sid=victim"}, "Cache-Control": {"no-store"}}), false, "no-store"},
		{"a status outside allowable_codes", func() map[string]any { l := header(map[string][]string{}); l["status"] = 404; return l }(), false, "status"},
		{"Set-Cookie alone", header(map[string][]string{"Set-Cookie": {"sid=victim"}, "Content-Type": {"text/plain"}}), true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := newSession(t, func(c *config.Config) { c.CacheControl = true })
			var refused []string
			n, err := dst.Cache().Import(context.Background(), encodeLines(t, tc.line), session.OnRefused(func(line int, why string) {
				refused = append(refused, why)
			}))
			if err != nil {
				t.Fatal(err)
			}
			if tc.stored != (n == 1) {
				t.Fatalf("imported %d responses (refused %q), want stored %v", n, refused, tc.stored)
			}
			if !tc.stored && (len(refused) != 1 || refused[0] != tc.why) {
				t.Fatalf("refused %q, want %q", refused, tc.why)
			}
			before := o.count()
			_, resp := get(t, dst.Client(), o.URL+"/doc")
			if got := session.InfoOf(resp).FromCache; got != tc.stored {
				t.Fatalf("the next GET from cache: %v, want %v", got, tc.stored)
			}
			if len(resp.Header["Set-Cookie"]) > 0 {
				t.Fatalf("an imported Set-Cookie was replayed: %q", resp.Header["Set-Cookie"])
			}
			if !tc.stored && o.count() != before+1 {
				t.Fatal("the GET did not reach the origin")
			}
		})
	}
}

// Finding 4, the key: even a trusted file's line is keyed by the request
// it records or by the key it names, never both ways; and a line whose URL
// holds a credential is stored redacted.
func TestImportRedactsALinesURL(t *testing.T) {
	o := newOrigin(t, text("doc"))
	src := newSession(t, nil)
	get(t, src.Client(), o.URL+"/doc")
	line := exportLines(t, src)[0]
	line["url"] = o.URL + "/doc?access_token=s3cret"
	dst := newSession(t, nil)
	if _, err := dst.Cache().Import(context.Background(), encodeLines(t, line), session.TrustKeys()); err != nil {
		t.Fatal(err)
	}
	urls, err := dst.Cache().URLs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(urls) != 1 || strings.Contains(urls[0], "s3cret") {
		t.Fatalf("stored URLs %q", urls)
	}
}

// Nothing in the session but the writer (writer.go) calls the store's
// writes: the session's own store field is a stores.Reader, and the store
// itself (writes) and the optional interfaces that write are reached from
// writer.go alone.
func TestOnlyTheWriterWrites(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	writeIfaces := map[string]bool{"URIIndex": true, "ConditionalDeleter": true, "AliasAdder": true, "Store": true}
	writeOptional := map[string]bool{"URIs": true, "Deleter": true, "Adder": true} // fields of stores.Optional (leases, coordination not content, are fleet.go's)
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || name == "writer.go" {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if x, ok := n.X.(*ast.SelectorExpr); ok && x.Sel.Name == "opt" && writeOptional[n.Sel.Name] {
					// s.opt.URIs, …: the store's optional interfaces that write.
					t.Errorf("%s uses the store's %s (it writes) outside writer.go", name, n.Sel.Name)
				}
				if n.Sel.Name == "writes" {
					if _, isCall := n.X.(*ast.Ident); isCall {
						// s.writes: allowed in session.go's New, Store and Close only.
						if name != "session.go" {
							t.Errorf("%s uses the store's write half (s.writes) outside writer.go", name)
						}
					}
				}
			case *ast.TypeAssertExpr:
				if sel, ok := n.Type.(*ast.SelectorExpr); ok && writeIfaces[sel.Sel.Name] {
					t.Errorf("%s asserts stores.%s outside writer.go", name, sel.Sel.Name)
				}
			}
			return true
		})
	}
	if checked < 20 {
		t.Fatalf("checked only %d files", checked)
	}
}
