package model

import (
	"bytes"
	"compress/gzip"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The model must not share code with what it checks: a rule wrong there
// would be wrong here the same way.
func TestModelImportsNothingOfReqcache(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); strings.HasPrefix(path, "github.com/reqcache/") {
				t.Errorf("%s imports %s", f, path)
			}
		}
	}
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// build is a small trace: exchanges and the answers that read them.
type build struct {
	tr  Trace
	seq int64
	id  int64
}

func newBuild() *build {
	return &build{tr: Trace{Settings: Settings{
		CacheControl: true, SeparateCredentials: true, MaxBodyBytes: 1 << 20,
		Methods: []string{"GET", "HEAD"}, Codes: []int{200}, IgnoredParameters: []string{"access_token"},
	}}}
}

func (b *build) next() int64 { b.seq++; return b.seq }

// fetch records a request answered by a new exchange with header h.
func (b *build) fetch(step int, method, url string, reqH http.Header, at time.Time, h http.Header) *Exchange {
	b.id++
	h = h.Clone()
	h.Set("X-Oracle-Id", strconv.FormatInt(b.id, 10))
	req := &Request{Step: step, Method: method, URL: url, Header: reqH, Time: at}
	a := &Answer{Req: req, Start: b.next(), Status: 200, Header: h, Body: []byte("body"), Stored: true}
	x := &Exchange{ID: b.id, Step: step, Method: method, Path: requestURI(url), Header: reqH, Start: b.next(), End: b.next(), Time: at, Status: 200, RespHeader: h, Rep: []byte("body"), Body: []byte("body")}
	if method == http.MethodHead {
		a.Body, x.Rep, x.Body = nil, nil, nil
	}
	a.End = b.next()
	b.tr.Answers = append(b.tr.Answers, a)
	b.tr.Exchanges = append(b.tr.Exchanges, x)
	return x
}

// hit records a request answered from exchange x without a trip; h nil
// is x's header as the 304s recorded since x left it, with its Age then.
func (b *build) hit(step int, method, url string, reqH http.Header, at time.Time, x *Exchange, h http.Header) *Answer {
	if h == nil {
		stored, since := x.RespHeader, x.Time
		for _, nm := range b.tr.Exchanges {
			if nm.Status == http.StatusNotModified && nm.Start > x.End && !nm.Time.After(at) {
				stored, since = merge(stored, nm.RespHeader), nm.Time
			}
		}
		h = stored.Clone()
		h.Set("Age", strconv.FormatInt(int64((initialAge(stored, since)+at.Sub(since))/time.Second), 10))
	}
	a := &Answer{Req: &Request{Step: step, Method: method, URL: url, Header: reqH, Time: at}, Start: b.next(), Status: 200, Header: h, Body: x.Rep}
	a.End = b.next()
	b.tr.Answers = append(b.tr.Answers, a)
	return a
}

// revalidate records a conditional request answered by a 304 carrying
// h, and the answer made from x with it.
func (b *build) revalidate(step int, url string, at time.Time, x *Exchange, h http.Header) *Answer {
	req := &Request{Step: step, Method: "GET", URL: url, Header: http.Header{}, Time: at}
	a := &Answer{Req: req, Start: b.next(), Status: 200, Body: x.Rep}
	b.id++
	sent := http.Header{"If-None-Match": {x.RespHeader.Get("ETag")}}
	nm := &Exchange{ID: b.id, Step: step, Method: "GET", Path: requestURI(url), Header: sent, Start: b.next(), End: b.next(), Time: at, Status: http.StatusNotModified, RespHeader: h}
	a.Header = merge(x.RespHeader, h)
	a.Header.Del("Set-Cookie")
	a.Header.Set("Age", "0")
	a.End = b.next()
	b.tr.Answers = append(b.tr.Answers, a)
	b.tr.Exchanges = append(b.tr.Exchanges, nm)
	return a
}

func kinds(vs []Violation) string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Kind)
	}
	return strings.Join(out, ",")
}

func TestModelRules(t *testing.T) {
	const u = "http://o.test/a"
	alice := http.Header{"Authorization": {"Bearer alice"}}
	cc := func(v string) http.Header { return http.Header{"Cache-Control": {v}} }
	for _, tc := range []struct {
		name string
		run  func(b *build)
		want string
	}{
		{"a fresh hit", func(b *build) {
			x := b.fetch(1, "GET", u, http.Header{}, t0, cc("max-age=60"))
			b.hit(2, "GET", u, http.Header{}, t0.Add(59*time.Second), x, nil)
		}, ""},
		{"Age counts the stored response's Date, not only the time since it arrived", func(b *build) {
			h := cc("max-age=60")
			h.Set("Date", t0.Add(-30*time.Second).Format(http.TimeFormat))
			x := b.fetch(1, "GET", u, http.Header{}, t0, h)
			b.hit(2, "GET", u, http.Header{}, t0.Add(10*time.Second), x, nil).Header.Set("Age", "40")
			b.hit(3, "GET", u, http.Header{}, t0.Add(10*time.Second), x, nil).Header.Set("Age", "10")
		}, "reuse/age"},
		{"an Age counted from before the 304 that vouched for it", func(b *build) {
			h := cc("max-age=1000")
			h.Set("ETag", `"v"`)
			h.Set("Date", t0.Add(-100*time.Second).Format(http.TimeFormat))
			x := b.fetch(1, "GET", u, http.Header{}, t0, h)
			b.revalidate(2, u, t0.Add(5*time.Second), x, http.Header{"Date": {t0.Add(5 * time.Second).Format(http.TimeFormat)}})
			b.hit(3, "GET", u, http.Header{}, t0.Add(10*time.Second), x, nil).Header.Set("Age", "110")
			b.hit(4, "GET", u, http.Header{}, t0.Add(10*time.Second), x, nil) // 5: from the 304's Date
		}, "reuse/age"},
		{"stale without leave", func(b *build) {
			x := b.fetch(1, "GET", u, http.Header{}, t0, cc("max-age=60"))
			b.hit(2, "GET", u, http.Header{}, t0.Add(60*time.Second), x, nil)
		}, "reuse/stale"},
		{"another principal", func(b *build) {
			x := b.fetch(1, "GET", u, alice, t0, cc("max-age=60"))
			b.hit(2, "GET", u, http.Header{}, t0, x, nil)
		}, "reuse/principal"},
		{"principals shared without separate_credentials", func(b *build) {
			b.tr.Settings.SeparateCredentials = false
			x := b.fetch(1, "GET", u, alice, t0, cc("max-age=60"))
			b.hit(2, "GET", u, http.Header{}, t0, x, nil)
		}, ""},
		{"a credential in the query is the principal's", func(b *build) {
			x := b.fetch(1, "GET", u+"?access_token=s", http.Header{}, t0, cc("max-age=60"))
			b.hit(2, "GET", u, http.Header{}, t0, x, nil)
		}, "reuse/principal"},
		{"one SAS grant's reads share, its signature the principal", func(b *build) {
			sas := "?sv=2025-11-05&sr=b&sp=r&se=2026-12-08T10%3A00%3A00Z&sig=S1"
			x := b.fetch(1, "GET", u+sas, http.Header{}, t0, cc("max-age=60"))
			b.hit(2, "GET", u+sas, http.Header{}, t0, x, nil)
		}, ""},
		{"another SAS grant is another principal", func(b *build) {
			x := b.fetch(1, "GET", u+"?sv=2025-11-05&sp=r&sig=S1", http.Header{}, t0, cc("max-age=60"))
			b.hit(2, "GET", u+"?sv=2025-11-05&sp=rw&sig=S2", http.Header{}, t0, x, nil)
		}, "reuse/principal"},
		{"sig without sv names the resource", func(b *build) {
			x := b.fetch(1, "GET", u+"?sig=1", http.Header{}, t0, cc("max-age=60"))
			b.hit(2, "GET", u+"?sig=2", http.Header{}, t0, x, nil)
		}, "reuse/url"},
		{"a Google API key is the principal, under any name", func(b *build) {
			x := b.fetch(1, "GET", u+"?api=AIzaSyA1234567890abcdefghijklmnopqrstuv", http.Header{}, t0, cc("max-age=60"))
			b.hit(2, "GET", u+"?api=AIzaSyB1234567890abcdefghijklmnopqrstuv", http.Header{}, t0, x, nil)
		}, "reuse/principal"},
		{"a Vault token is a credential", func(b *build) {
			x := b.fetch(1, "GET", u, http.Header{"X-Vault-Token": {"hvs.a"}}, t0, cc("max-age=60"))
			b.hit(2, "GET", u, http.Header{"X-Vault-Token": {"hvs.b"}}, t0, x, nil)
		}, "reuse/principal"},
		{"a stored whole body for x-ms-range", func(b *build) {
			x := b.fetch(1, "GET", u, http.Header{}, t0, cc("max-age=60"))
			b.hit(2, "GET", u, http.Header{"X-Ms-Range": {"bytes=0-1"}}, t0, x, nil)
		}, "bytes"},
		{"a stored whole body for Range (a cache may ignore Range)", func(b *build) {
			x := b.fetch(1, "GET", u, http.Header{}, t0, cc("max-age=60"))
			b.hit(2, "GET", u, http.Header{"Range": {"bytes=0-1"}}, t0, x, nil)
		}, ""},
		{"Vary selects", func(b *build) {
			h := cc("max-age=60")
			h.Set("Vary", "Accept-Language")
			x := b.fetch(1, "GET", u, http.Header{"Accept-Language": {"de, fr;q=0.5"}}, t0, h)
			b.hit(2, "GET", u, http.Header{"Accept-Language": {"fr;q=0.5,DE"}}, t0, x, nil)
			b.hit(3, "GET", u, http.Header{"Accept-Language": {"fr"}}, t0, x, nil)
		}, "reuse/vary"},
		{"no-store is never stored", func(b *build) {
			x := b.fetch(1, "GET", u, http.Header{}, t0, cc("no-store"))
			b.hit(2, "GET", u, http.Header{}, t0, x, nil)
		}, "reuse/unstorable"},
		{"a GET is never a HEAD's", func(b *build) {
			x := b.fetch(1, "HEAD", u, http.Header{}, t0, cc("max-age=60"))
			b.hit(2, "GET", u, http.Header{}, t0, x, nil)
		}, "reuse/method"},
		{"max-stale lets a stale answer through, marked", func(b *build) {
			x := b.fetch(1, "GET", u, http.Header{}, t0, cc("max-age=60"))
			a := b.hit(2, "GET", u, cc("max-stale=30"), t0.Add(80*time.Second), x, nil)
			a.Expired = true
			b.hit(3, "GET", u, cc("max-stale=30"), t0.Add(80*time.Second), x, nil)
		}, "reuse/stale-unmarked"},
		{"must-revalidate forbids max-stale", func(b *build) {
			x := b.fetch(1, "GET", u, http.Header{}, t0, cc("max-age=60, must-revalidate"))
			a := b.hit(2, "GET", u, cc("max-stale"), t0.Add(80*time.Second), x, nil)
			a.Expired = true
		}, "reuse/stale"},
		{"an unsafe request by anyone invalidates", func(b *build) {
			x := b.fetch(1, "GET", u, alice, t0, cc("max-age=60"))
			b.fetch(2, "PUT", u, http.Header{}, t0, http.Header{})
			b.hit(3, "GET", u, alice, t0, x, nil)
		}, "reuse/invalidated"},
		{"in a fleet, another process's invalidation reaches a memory tier by the next sync", func(b *build) {
			b.tr.Settings.Fleet = true
			x := b.fetch(1, "GET", u, alice, t0, cc("max-age=60"))
			b.fetch(2, "PUT", u, http.Header{}, t0, http.Header{})
			b.tr.Answers[1].Req.Process = 1
			b.hit(3, "GET", u, alice, t0, x, nil) // before the sync: its memory tier may not know yet
			b.tr.Syncs = append(b.tr.Syncs, b.next())
			b.hit(4, "GET", u, alice, t0, x, nil)
		}, "reuse/invalidated"},
		{"in a fleet, a process's own invalidation needs no sync", func(b *build) {
			b.tr.Settings.Fleet = true
			x := b.fetch(1, "GET", u, alice, t0, cc("max-age=60"))
			b.fetch(2, "PUT", u, http.Header{}, t0, http.Header{})
			b.hit(3, "GET", u, alice, t0, x, nil)
		}, "reuse/invalidated"},
		{"in a fleet, another process's newer response stays in that process", func(b *build) {
			b.tr.Settings.Fleet = true
			x := b.fetch(1, "GET", u, http.Header{}, t0, cc("max-age=60"))
			b.fetch(2, "GET", u, http.Header{}, t0, cc("max-age=60"))
			b.tr.Answers[1].Req.Process = 1
			b.tr.Syncs = append(b.tr.Syncs, b.next())
			b.hit(3, "GET", u, http.Header{}, t0, x, nil)
		}, ""},
		{"in a fleet, another process's newer response wins where this one never held the older", func(b *build) {
			b.tr.Settings.Fleet = true
			x := b.fetch(1, "GET", u, http.Header{}, t0, cc("max-age=60"))
			b.fetch(2, "GET", u, http.Header{}, t0, cc("max-age=60"))
			b.tr.Answers[0].Req.Process, b.tr.Answers[1].Req.Process = 1, 1
			b.hit(3, "GET", u, http.Header{}, t0, x, nil) // process 0 read the shared store: the newer one is there
		}, "reuse/not-most-recent"},
		{"in a fleet, a process's own newer response wins", func(b *build) {
			b.tr.Settings.Fleet = true
			x := b.fetch(1, "GET", u, http.Header{}, t0, cc("max-age=60"))
			b.fetch(2, "GET", u, http.Header{}, t0, cc("max-age=60"))
			b.tr.Answers[0].Req.Process, b.tr.Answers[1].Req.Process = 1, 1
			b.hit(3, "GET", u, http.Header{}, t0, x, nil).Req.Process = 1
		}, "reuse/not-most-recent"},
		{"a hit without Age under cache_control", func(b *build) {
			x := b.fetch(1, "GET", u, http.Header{}, t0, cc("max-age=60"))
			b.hit(2, "GET", u, http.Header{}, t0, x, x.RespHeader)
		}, "reuse/no-age"},
		{"ForceRefresh never takes a stored response", func(b *build) {
			x := b.fetch(1, "GET", u, http.Header{}, t0, cc("max-age=60"))
			a := b.hit(2, "GET", u, http.Header{}, t0, x, nil)
			a.Req.Options.ForceRefresh = true
		}, "reuse/unvalidated"},
		{"a newer stored response wins", func(b *build) {
			x := b.fetch(1, "GET", u, http.Header{}, t0, cc("max-age=60"))
			b.fetch(2, "GET", u, http.Header{}, t0, cc("max-age=60"))
			b.hit(3, "GET", u, http.Header{}, t0, x, nil)
		}, "reuse/not-most-recent"},
		{"a body the origin cut is never served whole", func(b *build) {
			x := b.fetch(1, "GET", u, http.Header{}, t0, cc("max-age=60"))
			x.Cut, x.Body = true, x.Body[:2]
			b.tr.Answers[0].Body, b.tr.Answers[0].BodyErr = x.Body, "unexpected EOF"
			b.hit(2, "GET", u, http.Header{}, t0, x, nil)
		}, "bytes"},
		{"a caller joins a too-large body's trip after the handler returned, while the cache still reads it", func(b *build) {
			b.tr.Settings.MaxBodyBytes = 2
			x := b.fetch(1, "GET", u, http.Header{}, t0, cc("max-age=60"))
			leader := b.tr.Answers[0]
			joiner := b.hit(2, "GET", u, http.Header{}, t0, x, nil)
			joiner.Start, joiner.End, leader.End = x.End+1, x.End+2, x.End+3 // (CI, memory seed 20)
		}, ""},
		{"a gzip body the Transport decoded counts its decoded bytes against max_body_bytes (seed 11953)", func(b *build) {
			plain := strings.Repeat("a", 20)
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write([]byte(plain))
			zw.Close()
			b.tr.Settings.MaxBodyBytes = int64(z.Len()) - 1 // the coded bytes would not fit
			h := cc("max-age=60")
			h.Set("Content-Encoding", "gzip")
			x := b.fetch(1, "GET", u, http.Header{}, t0, h)
			x.Rep, x.Body = z.Bytes(), z.Bytes()
			own := b.tr.Answers[0]
			own.Body, own.Header = []byte(plain), own.Header.Clone()
			own.Header.Del("Content-Encoding")
			hit := b.hit(2, "GET", u, http.Header{}, t0, x, nil)
			hit.Body = []byte(plain)
			hit.Header.Del("Content-Encoding")
		}, ""},
		{"a too-large body is not reused once the trip is over", func(b *build) {
			b.tr.Settings.MaxBodyBytes = 2
			x := b.fetch(1, "GET", u, http.Header{}, t0, cc("max-age=60"))
			b.hit(2, "GET", u, http.Header{}, t0, x, nil)
		}, "reuse/unstorable"},
		{"a 304's Set-Cookie is for the caller that asked", func(b *build) {
			h := cc("max-age=1")
			h.Set("ETag", `"v"`)
			x := b.fetch(1, "GET", u, http.Header{}, t0, h)
			own := b.revalidate(2, u, t0.Add(5*time.Second), x, http.Header{"Set-Cookie": {"sid=1"}})
			own.Header.Set("Set-Cookie", "sid=1")
		}, ""},
		{"a 304's Set-Cookie is not replayed to another", func(b *build) {
			h := cc("max-age=1")
			h.Set("ETag", `"v"`)
			x := b.fetch(1, "GET", u, http.Header{}, t0, h)
			b.revalidate(2, u, t0.Add(5*time.Second), x, http.Header{"Set-Cookie": {"sid=1"}, "Cache-Control": {"max-age=60"}})
			a := b.hit(3, "GET", u, http.Header{}, t0.Add(5*time.Second), x, nil)
			a.Header.Set("Set-Cookie", "sid=1")
		}, "reuse/set-cookie"},
		{"a 304 that says no-store ends reuse", func(b *build) {
			h := cc("max-age=1")
			h.Set("ETag", `"v"`)
			x := b.fetch(1, "GET", u, http.Header{}, t0, h)
			b.revalidate(2, u, t0.Add(5*time.Second), x, cc("no-store"))
			b.hit(3, "GET", u, http.Header{}, t0.Add(5*time.Second), x, nil)
		}, "reuse/unstorable"},
		{"a 304 that says no-store answers its own caller", func(b *build) {
			h := cc("max-age=1")
			h.Set("ETag", `"v"`)
			x := b.fetch(1, "GET", u, http.Header{}, t0, h)
			b.revalidate(2, u, t0.Add(5*time.Second), x, cc("no-store"))
		}, ""},
		{"a 304 that says no-cache ends stale use once its caller has it", func(b *build) {
			b.tr.Settings.StaleWhileRevalidate = Limit{On: true, Max: 10 * time.Second}
			h := cc("max-age=1")
			h.Set("ETag", `"v"`)
			x := b.fetch(1, "GET", u, http.Header{}, t0, h)
			b.revalidate(2, u, t0.Add(5*time.Second), x, cc("no-cache"))
			b.hit(3, "GET", u, http.Header{}, t0.Add(5*time.Second), x, nil).Expired = true
		}, "reuse/stale"},
		{"a 304 that says no-cache, made in the background, may not be merged yet (seed 9018, tiered)", func(b *build) {
			b.tr.Settings.StaleWhileRevalidate = Limit{On: true, Max: 10 * time.Second}
			h := cc("max-age=1")
			h.Set("ETag", `"v"`)
			x := b.fetch(1, "GET", u, http.Header{}, t0, h)
			at := t0.Add(5 * time.Second)
			b.hit(2, "GET", u, http.Header{}, at, x, nil).Expired = true
			b.id++
			b.tr.Exchanges = append(b.tr.Exchanges, &Exchange{ID: b.id, Step: 2, Method: "GET", Path: "/a", Header: http.Header{"If-None-Match": {`"v"`}},
				Start: b.next(), End: b.next(), Time: at, Status: http.StatusNotModified, RespHeader: cc("no-cache")})
			b.hit(3, "GET", u, http.Header{}, at, x, nil).Expired = true
		}, ""},
		{"in a fleet, another process's 304 that says no-store ends reuse there only", func(b *build) {
			b.tr.Settings.Fleet = true
			h := cc("max-age=60")
			h.Set("ETag", `"v"`)
			x := b.fetch(1, "GET", u, http.Header{}, t0, h)
			b.revalidate(2, u, t0.Add(5*time.Second), x, cc("no-store")).Req.Process = 1
			b.hit(3, "GET", u, http.Header{}, t0.Add(5*time.Second), x, nil)
		}, ""},
		{"in a fleet, a process's own 304 that says no-store ends reuse", func(b *build) {
			b.tr.Settings.Fleet = true
			h := cc("max-age=60")
			h.Set("ETag", `"v"`)
			x := b.fetch(1, "GET", u, http.Header{}, t0, h)
			b.revalidate(2, u, t0.Add(5*time.Second), x, cc("no-store"))
			b.hit(3, "GET", u, http.Header{}, t0.Add(5*time.Second), x, nil)
		}, "reuse/unstorable"},
		{"a caller joins a failed trip after the handler returned, while its caller is answered stale", func(b *build) {
			x := b.fetch(1, "GET", u, http.Header{}, t0, cc("max-age=10, stale-if-error=60"))
			at := t0.Add(31 * time.Second)
			leader := b.hit(2, "GET", u, http.Header{}, at, x, nil)
			b.id++
			failed := &Exchange{ID: b.id, Step: 2, Method: "GET", Path: "/a", Header: http.Header{}, Start: b.next(), End: b.next(), Time: at, Status: 400, RespHeader: http.Header{}}
			b.tr.Exchanges = append(b.tr.Exchanges, failed)
			joiner := b.hit(3, "GET", u, http.Header{}, at, x, nil)
			leader.End = b.next() // (memory seed 223, under the race detector)
			leader.Expired, joiner.Expired = true, true
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuild()
			tc.run(b)
			if got := kinds(Check(&b.tr)); got != tc.want {
				t.Errorf("violations %q, want %q:\n%v", got, tc.want, Check(&b.tr))
			}
		})
	}
}
