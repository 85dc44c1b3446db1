package debugpage

import (
	"context"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/reqcache/reqcache/stores"
)

var (
	//go:embed page.html
	pageHTML string
	//go:embed page.css
	pageCSS string

	pages = template.Must(template.New("page").Funcs(template.FuncMap{
		"css":     func() template.CSS { return template.CSS(pageCSS) },
		"bytes":   formatBytes,
		"seconds": func(s int64) string { return (time.Duration(s) * time.Second).String() },
		"deref":   func(p *int64) int64 { return *p },
		"took": func(d time.Duration) time.Duration {
			if d >= time.Millisecond {
				return d.Round(10 * time.Microsecond)
			}
			return d.Round(time.Microsecond / 10)
		},
		"time": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000 UTC") },
		"percent": func(r float64, n int64) string {
			if n == 0 {
				return "–"
			}
			return fmt.Sprintf("%.1f%%", 100*r)
		},
	}).Parse(pageHTML))
)

// Handler serves the page of st's cache: the overview at the mount
// point's root, "entries", "entry?key=…", and (with AllowChanges) POST
// "delete", "delete-expired" and "clear"; "?format=json" on each view.
func Handler(st *State, opts Options) http.Handler { return &handler{st: st, opts: opts} }

type handler struct {
	st   *State
	opts Options
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	view := ""
	if !strings.HasSuffix(r.URL.Path, "/") {
		view = path.Base(r.URL.Path)
	}
	switch view {
	case "", "entries", "entry":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			h.message(w, r, http.StatusMethodNotAllowed, "This view only answers GET.")
			return
		}
	case "delete", "delete-expired", "clear":
		h.change(w, r, view)
		return
	default:
		h.message(w, r, http.StatusNotFound, "No such view: the page has the overview, entries and entry?key=….")
		return
	}
	switch view {
	case "":
		h.overview(w, r)
	case "entries":
		h.entries(w, r)
	case "entry":
		h.entry(w, r)
	}
}

// redacted replaces a secret on the page (cachekey.Redacted).
const redacted = "REDACTED"

// page is what every view's template gets.
type page struct {
	Title          string
	Data           any
	Now            time.Time
	ChangesAllowed bool
	CSRF           string
	Flash          string
	JSONQuery      string // the view's query, to keep in its JSON link
	// The entries view's links.
	PrevURL, NextURL string
	Budget           int
}

// wantsJSON reports a view asked for with ?format=json.
func wantsJSON(r *http.Request) bool { return r.URL.Query().Get("format") == "json" }

func (h *handler) render(w http.ResponseWriter, r *http.Request, status int, p page) {
	q := r.URL.Query()
	if q.Get("format") == "json" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(p.Data)
		return
	}
	p.Now = h.st.src.Now()
	p.ChangesAllowed = h.opts.AllowChanges
	if p.ChangesAllowed {
		p.CSRF = h.st.token
	}
	if p.ChangesAllowed {
		// Only a confirmation this page made, for a change it made:
		// the link's text is never shown (content spoofing).
		p.Flash = h.st.takeFlash(q.Get("done"))
	}
	q.Del("format")
	q.Del("done")
	if enc := q.Encode(); enc != "" {
		p.JSONQuery = "&" + enc
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	_ = pages.ExecuteTemplate(w, p.Title, p)
}

// message answers with a sentence (an error, a refusal), in the page's
// frame or as JSON {"error": …}.
func (h *handler) message(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if wantsJSON(r) {
		h.render(w, r, status, page{Data: map[string]string{"error": msg}})
		return
	}
	h.render(w, r, status, page{Title: "message", Data: msg})
}

func (h *handler) storeFailed(w http.ResponseWriter, r *http.Request, err error) {
	h.message(w, r, http.StatusServiceUnavailable, "The store failed: "+err.Error())
}

// Overview is the overview's data (its JSON).
type Overview struct {
	Backend string `json:"backend"`
	Entries int    `json:"entries"`
	// EntriesKnown is false when the store could not count them now;
	// StoreError then says why.
	EntriesKnown bool     `json:"entries_known"`
	StoreError   string   `json:"store_error,omitempty"`
	Bytes        int64    `json:"bytes"`
	BytesKnown   bool     `json:"bytes_known"`
	MaxBytes     int64    `json:"max_bytes,omitempty"`
	Counters     Counters `json:"counters"`
	Requests     int64    `json:"requests"`
	// HitRatio is (hits + stale) / requests since the session started.
	HitRatio float64  `json:"hit_ratio"`
	History  []Sample `json:"history"` // oldest first, then the interval in progress
	Recent   []Event  `json:"recent"`
	Chart    chart    `json:"-"`
}

func (h *handler) overview(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	src := h.st.src
	o := Overview{Backend: src.Backend, MaxBytes: src.MaxBytes, Counters: src.Counters()}
	// A store that cannot answer now (MongoDB down) leaves the overview
	// up: the counters and alerts are what an operator needs then.
	var err error
	if o.Entries, err = src.Store.Len(ctx); err != nil {
		if errors.Is(err, stores.ErrClosed) {
			h.storeFailed(w, r, err)
			return
		}
		o.StoreError = err.Error()
	} else {
		o.EntriesKnown = true
	}
	if o.Bytes, o.BytesKnown, err = src.Bytes(ctx); err != nil {
		o.BytesKnown = false
	}
	if o.Requests = o.Counters.requests(); o.Requests > 0 {
		o.HitRatio = float64(o.Counters.cached()) / float64(o.Requests)
	}
	samples, current := h.st.history(o.Counters, src.Now())
	o.History = append(samples, current)
	o.Recent = h.st.recent(20, nil)
	o.Chart = chartOf(o.History)
	h.render(w, r, http.StatusOK, page{Title: "overview", Data: o})
}

// Entries is the entries view's data (its JSON).
type Entries struct {
	Total int `json:"total"` // entries stored
	Listing
}

func (h *handler) entries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := Filter{Host: strings.TrimSpace(q.Get("host")), Contains: q.Get("q"), State: q.Get("state")}
	if f.State != "" && f.State != "fresh" && f.State != "expired" {
		h.message(w, r, http.StatusBadRequest, `state is "fresh", "expired" or empty.`)
		return
	}
	n, _ := strconv.Atoi(q.Get("page"))
	l, err := h.st.list(q.Get("cursor"), f, max(n, 1))
	if err != nil {
		if errors.Is(err, errTooManyPages) {
			h.message(w, r, http.StatusBadRequest, err.Error())
			return
		}
		h.storeFailed(w, r, err)
		return
	}
	total, err := h.st.src.Store.Len(r.Context())
	if err != nil {
		h.storeFailed(w, r, err)
		return
	}
	link := func(n int) string {
		v := url.Values{"cursor": {l.Cursor}, "page": {strconv.Itoa(n)}}
		for k, s := range map[string]string{"host": f.Host, "q": f.Contains, "state": f.State} {
			if s != "" {
				v.Set(k, s)
			}
		}
		return "entries?" + v.Encode()
	}
	h.render(w, r, http.StatusOK, page{
		Title: "entries", Data: Entries{Total: total, Listing: l},
		PrevURL: link(l.Page - 1), NextURL: link(l.Page + 1), Budget: Budget,
	})
}

// Entry is the entry view's data (its JSON).
type Entry struct {
	Row
	BodyBytes      int          `json:"body_bytes"`
	URIKey         string       `json:"uri_key"`
	RequestedAt    time.Time    `json:"requested_at"`
	ExpiresAt      time.Time    `json:"expires_at"`
	DiscardAt      time.Time    `json:"discard_at"`
	Heuristic      bool         `json:"heuristic"`
	Lifetime       string       `json:"lifetime"` // where ExpiresAt came from (stores.Lifetime), "" when unrecorded
	RequestHeader  []HeaderLine `json:"request_header"`
	ResponseHeader []HeaderLine `json:"response_header"`
	Freshness      []string     `json:"freshness"`
	History        []Event      `json:"history"`
}

// HeaderLine is one field line, redacted.
type HeaderLine struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func (h *handler) entry(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("key")
	if key == "" {
		h.message(w, r, http.StatusBadRequest, "entry needs ?key=… (the links of the entries view carry it).")
		return
	}
	src := h.st.src
	e, err := src.Store.Get(r.Context(), key)
	switch {
	case errors.Is(err, stores.ErrNotFound):
		h.message(w, r, http.StatusNotFound, "Nothing is stored under that key (deleted, evicted or expired for good).")
		return
	case errors.Is(err, stores.ErrCorrupt):
		h.message(w, r, http.StatusNotFound, "The entry under that key cannot be decoded; the next request for it deletes it.")
		return
	case err != nil:
		h.storeFailed(w, r, err)
		return
	}
	now := src.Now()
	v := Entry{
		Row: rowOf(e, now, src.RedactURL), BodyBytes: len(e.Body), URIKey: e.URIKey,
		RequestedAt: e.RequestedAt, ExpiresAt: e.ExpiresAt, DiscardAt: e.DiscardAt, Heuristic: e.Heuristic(), Lifetime: e.Lifetime.String(),
		RequestHeader:  h.headerLines(e.RequestHeader),
		ResponseHeader: h.headerLines(e.Header),
		Freshness:      explain(e, now),
		History:        h.st.recent(50, func(ev *Event) bool { return ev.Key == key }),
	}
	h.render(w, r, http.StatusOK, page{Title: "entry", Data: v})
}

// headerLines sorts hdr into lines, redacted: credentials as the logs
// redact them, cookies a response sets, and the credentials of URLs that
// response headers name.
func (h *handler) headerLines(hdr http.Header) []HeaderLine {
	lines := []HeaderLine{}
	for name, vs := range h.st.src.RedactHeader(hdr) {
		for _, v := range vs {
			switch http.CanonicalHeaderKey(name) {
			case "Set-Cookie", "Set-Cookie2":
				v = redacted
			case "Location", "Content-Location":
				v = h.st.src.RedactURL(v)
			}
			lines = append(lines, HeaderLine{Name: name, Value: v})
		}
	}
	slices.SortStableFunc(lines, func(a, b HeaderLine) int { return strings.Compare(a.Name, b.Name) })
	return lines
}

// change runs a POST view: only with AllowChanges, only by POST, only with
// the page's token (a form on another site cannot know it), only from the
// page's own origin when the browser says where a request comes from.
func (h *handler) change(w http.ResponseWriter, r *http.Request, view string) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		h.message(w, r, http.StatusMethodNotAllowed, "Changes are made by POST from the page's forms.")
		return
	}
	if !h.opts.AllowChanges {
		h.message(w, r, http.StatusForbidden, "This page is read-only: changes need the handler made with AllowChanges.")
		return
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		h.message(w, r, http.StatusForbidden, "Changes are accepted from the page itself only.")
		return
	}
	token := r.PostFormValue("csrf")
	if token == "" {
		token = r.Header.Get("X-CSRF-Token")
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(h.st.token)) != 1 {
		h.message(w, r, http.StatusForbidden, "The form's token is missing or stale: reload the page and try again.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	var (
		n    int
		err  error
		done string
		back = "./"
	)
	switch view {
	case "delete":
		key := r.PostFormValue("key")
		if key == "" {
			h.message(w, r, http.StatusBadRequest, "delete needs the key of an entry.")
			return
		}
		n, err = h.st.src.Delete(ctx, key)
		done, back = fmt.Sprintf("Deleted %d entry.", n), "entries"
		if n != 1 {
			done = fmt.Sprintf("Deleted %d entries.", n)
		}
	case "delete-expired":
		n, err = h.st.src.DeleteExpired(ctx)
		done = fmt.Sprintf("Deleted %d expired entries.", n)
	case "clear":
		err = h.st.src.Clear(ctx)
		done = "Cleared the cache."
	}
	if err != nil {
		h.storeFailed(w, r, err)
		return
	}
	if wantsJSON(r) {
		h.render(w, r, http.StatusOK, page{Data: map[string]any{"done": done, "deleted": n}})
		return
	}
	http.Redirect(w, r, back+"?done="+h.st.flash(done), http.StatusSeeOther)
}

// formatBytes writes n (an int or int64) in B, KiB, MiB or GiB.
func formatBytes(v any) string {
	var n int64
	switch v := v.(type) {
	case int:
		n = int64(v)
	case int64:
		n = v
	}
	f := float64(n)
	for _, unit := range []string{"B", "KiB", "MiB", "GiB"} {
		if f < 1024 || unit == "GiB" {
			if unit == "B" {
				return fmt.Sprintf("%d B", n)
			}
			return fmt.Sprintf("%.1f %s", f, unit)
		}
		f /= 1024
	}
	return ""
}
