package rules

import (
	"net/http"
	"testing"
	"time"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/stores"
)

// One t.Run per case, in the order of the RFC 9111 sections they implement.

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// newResponse runs the storability decision for a 200 with header h, as
// received at t0 for a request with Cache-Control reqCC and expiration
// exp; a codes-200, heuristics-off settings unless set says otherwise.
func newResponse(set Settings, status int, exp config.Expiration, own bool, reqCC string, h http.Header) Freshness {
	if set.Codes == nil {
		set.Codes = map[int]bool{status: true}
	}
	from := stores.LifetimeExpireAfter
	if own {
		from = stores.LifetimeOption
	}
	req := Request{Directives: Parse(header("Cache-Control", reqCC)), Expiration: exp, WrittenExpiration: own, ExpirationFrom: from}
	return NewResponse(&req, &Response{Status: status, Header: h, RequestedAt: t0, ReceivedAt: t0}, &set)
}

// §5.2: Cache-Control directives.
func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		cc   []string
		want func(d Directives) bool
	}{
		{"max-age", []string{"max-age=60"}, func(d Directives) bool { return d.MaxAge == time.Minute }},
		{"quoted max-age (§1.2.2 recipients accept it)", []string{`max-age="60"`}, func(d Directives) bool { return d.MaxAge == time.Minute }},
		{"names are case-insensitive", []string{"MAX-AGE=5, No-Store"}, func(d Directives) bool { return d.MaxAge == 5*time.Second && d.NoStore }},
		{"invalid max-age is stale (§4.2.1)", []string{"max-age=soon"}, func(d Directives) bool { return d.MaxAge == 0 }},
		{"conflicting duplicate max-age is stale (§4.2.1)", []string{"max-age=0", "max-age=3600"}, func(d Directives) bool { return d.MaxAge == 0 }},
		{"repeated equal max-age stands", []string{"max-age=60, max-age=60"}, func(d Directives) bool { return d.MaxAge == time.Minute }},
		{"conflicting s-maxage is stale", []string{"s-maxage=10, s-maxage=20"}, func(d Directives) bool { return d.SMaxAge == 0 }},
		{"huge delta-seconds saturate (§1.2.2)", []string{"max-age=99999999999999999999"}, func(d Directives) bool { return d.MaxAge > 100*365*24*time.Hour }},
		{"max-stale without a value accepts any staleness", []string{"max-stale"}, func(d Directives) bool { return d.MaxStale == MaxStaleAny }},
		{"qualified no-cache is plain no-cache", []string{`no-cache="Set-Cookie, X-A"`}, func(d Directives) bool { return d.NoCache && d.NoCacheFields }},
		{"stale-if-error without a value is absent", []string{"stale-if-error"}, func(d Directives) bool { return d.StaleIfError == -1 }},
		{"unknown directives are ignored", []string{"community=\"UCI\", immutable"}, func(d Directives) bool { return d.Immutable && d.MaxAge == -1 }},
		{"absent", nil, func(d Directives) bool { return d == Absent() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tc.cc {
				h.Add("Cache-Control", v)
			}
			if d := Parse(h); !tc.want(d) {
				t.Fatalf("Parse(%q) = %+v", tc.cc, d)
			}
		})
	}
}

// §5.4: Pragma: no-cache counts only without Cache-Control.
func TestPragmaNoCache(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    http.Header
		want bool
	}{
		{"alone", header("Pragma", "no-cache"), true},
		{"with Cache-Control", header("Pragma", "no-cache", "Cache-Control", "max-age=5"), false},
		{"other pragma", header("Pragma", "x-y"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PragmaNoCache(tc.h); got != tc.want {
				t.Fatalf("got %v", got)
			}
		})
	}
}

// §5.6.7 of RFC 9110: the three HTTP-date formats.
func TestParseHTTPDate(t *testing.T) {
	want := time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC)
	for _, tc := range []struct {
		name, v string
		ok      bool
	}{
		{"IMF-fixdate", "Sun, 06 Nov 1994 08:49:37 GMT", true},
		{"RFC 850", "Sunday, 06-Nov-94 08:49:37 GMT", true},
		{"asctime", "Sun Nov  6 08:49:37 1994", true},
		{"IMF-fixdate, names in the wrong case", "SUN, 06 nov 1994 08:49:37 gmt", true},
		{"RFC 850, names in the wrong case", "sunday, 06-NOV-94 08:49:37 Gmt", true},
		{"asctime, names in the wrong case", "sUN nOV  6 08:49:37 1994", true},
		{"IMF-fixdate, a wrong day of the week", "Thu, 06 Nov 1994 08:49:37 GMT", true},
		{"RFC 850, a wrong day of the week", "Monday, 06-Nov-94 08:49:37 GMT", true},
		{"asctime, a wrong day of the week", "Thu Nov  6 08:49:37 1994", true},
		{"asctime, a two-digit day without its pad", "Sun Nov 6 08:49:37 1994", false},
		{"extra spaces", "Sun,  06 Nov 1994 08:49:37 GMT", false},
		{"another zone", "Sun, 06 Nov 1994 08:49:37 UTC", false},
		{"a misspelt name", "Snu, 06 Nov 1994 08:49:37 GMT", false},
		{"not a date", "0", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseHTTPDate(tc.v)
			if ok != tc.ok || ok && !got.Equal(want) {
				t.Fatalf("ParseHTTPDate(%q) = %v, %v", tc.v, got, ok)
			}
		})
	}
}

// §4.2.3: calculating age.
func TestAge(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		h                       http.Header
		requested, received, at time.Time
		want                    time.Duration
	}{
		{"Age header", header("Age", "30"), t0, t0, t0, 30 * time.Second},
		{"Age plus response delay", header("Age", "30"), t0, t0.Add(2 * time.Second), t0.Add(2 * time.Second), 32 * time.Second},
		{"apparent age from Date", header("Date", t0.Add(-time.Minute).Format(http.TimeFormat)), t0, t0, t0, time.Minute},
		{"resident time", http.Header{}, t0, t0, t0.Add(time.Hour), time.Hour},
		{"invalid Age is 0", header("Age", "-5"), t0, t0, t0, 0},
		{"huge Age saturates, never wraps", header("Age", "99999999999999999999"), t0, t0.Add(time.Second), t0.Add(time.Hour), MaxStaleAny},
		{"a Date after arrival is no age", header("Date", t0.Add(time.Hour).Format(http.TimeFormat)), t0, t0, t0.Add(time.Minute), time.Minute},
		{"no request time", header("Age", "7"), time.Time{}, t0, t0, 7 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CurrentAge(tc.h, tc.requested, tc.received, tc.at); got != tc.want {
				t.Fatalf("CurrentAge = %v, want %v", got, tc.want)
			}
			// What a stored entry keeps instead of reading the header
			// again gives the same age, at that instant and later; without
			// it, Stored.Age reads the header.
			for _, later := range []time.Duration{0, time.Second, 1000 * time.Hour} {
				st := Stored{Header: tc.h, RequestedAt: tc.requested, CreatedAt: tc.received, GeneratedAt: GeneratedAt(tc.h, tc.requested, tc.received)}
				want := CurrentAge(tc.h, tc.requested, tc.received, tc.at.Add(later))
				if got := st.Age(tc.at.Add(later)); got != want {
					t.Fatalf("%v later: Stored.Age from GeneratedAt %v = %v, want %v", later, st.GeneratedAt, got, want)
				}
				st.GeneratedAt = time.Time{}
				if got := st.Age(tc.at.Add(later)); got != want {
					t.Fatalf("%v later: Stored.Age without GeneratedAt = %v, want %v", later, got, want)
				}
			}
		})
	}
}

// §4.2.1: calculating freshness lifetime.
func TestExplicitLifetime(t *testing.T) {
	date := t0.Format(http.TimeFormat)
	for _, tc := range []struct {
		name   string
		h      http.Header
		want   time.Duration
		wantOK bool
	}{
		{"max-age", header("Cache-Control", "max-age=60"), time.Minute, true},
		{"max-age wins over Expires", header("Cache-Control", "max-age=60", "Expires", t0.Add(time.Hour).Format(http.TimeFormat), "Date", date), time.Minute, true},
		{"Expires minus Date", header("Expires", t0.Add(time.Hour).Format(http.TimeFormat), "Date", date), time.Hour, true},
		{"invalid Expires is already stale (§5.3)", header("Expires", "0"), 0, true},
		{"two Expires are invalid", header("Expires", date, "Expires", date), 0, true},
		{"none", http.Header{}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Parse(tc.h)
			got, ok := ExplicitLifetime(tc.h, &d, t0)
			if got != tc.want || ok != tc.wantOK {
				t.Fatalf("ExplicitLifetime = %v, %v; want %v, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

// §3 and §4.2: whether a new response is stored, and until when, in
// the precedence of docs/configuration.md.
func TestNewResponse(t *testing.T) {
	never := config.NeverExpire
	for _, tc := range []struct {
		name         string
		cacheControl bool
		reqExp       config.Expiration
		reqCC, resCC string
		want         Freshness
	}{
		{"request no-store", true, never, "no-store", "max-age=60", Freshness{Reason: "request-no-store"}},
		{"response no-store", true, never, "", "no-store", Freshness{Reason: "no-store"}},
		{"response no-store ignored without cache_control", false, never, "", "no-store", Freshness{Store: true, Lifetime: stores.LifetimeExpireAfter}},
		{"no-cache without a validator: not stored (never usable: no stale use, nothing to revalidate)", true, never, "", "no-cache", Freshness{Reason: "no-validator"}},
		{"immutable never expires", true, config.After(time.Second), "", "immutable", Freshness{Store: true, Lifetime: stores.LifetimeImmutable}},
		{"max-age beats expire_after", true, config.After(time.Hour), "", "max-age=60", Freshness{Store: true, ExpiresAt: t0.Add(time.Minute), Lifetime: stores.LifetimeMaxAge}},
		{"max-age=0 without a validator: stored, stale at once (as requests-cache)", true, never, "", "max-age=0", Freshness{Store: true, ExpiresAt: t0, Lifetime: stores.LifetimeMaxAge}},
		{"request max-age beats expire_after", true, config.After(time.Hour), "max-age=30", "", Freshness{Store: true, ExpiresAt: t0.Add(30 * time.Second), Lifetime: stores.LifetimeRequestMaxAge}},
		{"expire_after", false, config.After(time.Hour), "", "max-age=60", Freshness{Store: true, ExpiresAt: t0.Add(time.Hour), Lifetime: stores.LifetimeExpireAfter}},
		{"do_not_cache", false, config.DoNotCache, "", "", Freshness{Reason: "do_not_cache"}},
		{"immediately needs a validator, none: not stored", false, config.ExpireImmediately, "", "", Freshness{Reason: "no-validator"}},
		{"an expire_after time already past: stored, stale at once (as requests-cache)", false, config.At(t0.Add(-time.Hour)), "", "", Freshness{Store: true, ExpiresAt: t0.Add(-time.Hour), Lifetime: stores.LifetimeExpireAfter}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := header("Cache-Control", tc.resCC)
			if got := newResponse(Settings{Settings: config.Settings{CacheControl: tc.cacheControl}}, 200, tc.reqExp, false, tc.reqCC, h); got != tc.want {
				t.Fatalf("NewResponse = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// §4.2.2: a response with Last-Modified and no explicit lifetime is fresh
// for a fraction of its age, with cache_control, when the request has no
// expiration of its own.
func TestHeuristicFreshness(t *testing.T) {
	on := config.StaleLimit{Enabled: true, Max: 24 * time.Hour}
	lm := func(ago time.Duration) string { return t0.Add(-ago).Format(http.TimeFormat) }
	for _, tc := range []struct {
		name      string
		status    int
		heuristic config.StaleLimit
		reqCC     string
		h         http.Header
		want      Freshness
	}{
		{"10% of the time since Last-Modified", 200, on, "", header("Last-Modified", lm(10*time.Hour)),
			Freshness{Store: true, ExpiresAt: t0.Add(time.Hour), Lifetime: stores.LifetimeHeuristic}},
		{"capped by the setting", 200, on, "", header("Last-Modified", lm(100*24*time.Hour)),
			Freshness{Store: true, ExpiresAt: t0.Add(24 * time.Hour), Lifetime: stores.LifetimeHeuristic}},
		{"true: no cap", 200, config.StaleLimit{Enabled: true}, "", header("Last-Modified", lm(100*24*time.Hour)),
			Freshness{Store: true, ExpiresAt: t0.Add(10 * 24 * time.Hour), Lifetime: stores.LifetimeHeuristic}},
		{"measured from Date, less the age since it", 404, on, "", header("Last-Modified", lm(21*time.Hour), "Date", t0.Add(-time.Hour).Format(http.TimeFormat)),
			Freshness{Store: true, ExpiresAt: t0.Add(time.Hour), Lifetime: stores.LifetimeHeuristic}},
		{"the Age already spent counts", 200, on, "", header("Last-Modified", lm(10*time.Hour), "Age", "600"),
			Freshness{Store: true, ExpiresAt: t0.Add(50 * time.Minute), Lifetime: stores.LifetimeHeuristic}},
		{"every heuristically cacheable status", 501, on, "", header("Last-Modified", lm(10*time.Hour)),
			Freshness{Store: true, ExpiresAt: t0.Add(time.Hour), Lifetime: stores.LifetimeHeuristic}},
		{"not for other statuses: expire_after", 302, on, "", header("Last-Modified", lm(10*time.Hour)),
			Freshness{Store: true, Lifetime: stores.LifetimeExpireAfter}},
		{"explicit max-age wins", 200, on, "", header("Last-Modified", lm(10*time.Hour), "Cache-Control", "max-age=60"),
			Freshness{Store: true, ExpiresAt: t0.Add(time.Minute), Lifetime: stores.LifetimeMaxAge}},
		{"Expires wins", 200, on, "", header("Last-Modified", lm(10*time.Hour), "Expires", t0.Add(time.Minute).Format(http.TimeFormat)),
			Freshness{Store: true, ExpiresAt: t0.Add(time.Minute), Lifetime: stores.LifetimeExpires}},
		{"request max-age wins", 200, on, "max-age=30", header("Last-Modified", lm(10*time.Hour)),
			Freshness{Store: true, ExpiresAt: t0.Add(30 * time.Second), Lifetime: stores.LifetimeRequestMaxAge}},
		{"off: expire_after", 200, config.StaleLimit{}, "", header("Last-Modified", lm(10*time.Hour)),
			Freshness{Store: true, Lifetime: stores.LifetimeExpireAfter}},
		{"Last-Modified equal to Date: a lifetime of zero, not expire_after", 200, on, "", header("Last-Modified", t0.Format(http.TimeFormat), "Date", t0.Format(http.TimeFormat)),
			Freshness{Store: true, ExpiresAt: t0, Lifetime: stores.LifetimeHeuristic}},
		{"Last-Modified in the future: expire_after", 200, on, "", header("Last-Modified", t0.Add(time.Hour).Format(http.TimeFormat)),
			Freshness{Store: true, Lifetime: stores.LifetimeExpireAfter}},
		{"invalid Last-Modified: expire_after", 200, on, "", header("Last-Modified", "yesterday"),
			Freshness{Store: true, Lifetime: stores.LifetimeExpireAfter}},
		{"no Last-Modified: expire_after", 200, on, "", header("ETag", `"x"`),
			Freshness{Store: true, Lifetime: stores.LifetimeExpireAfter}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := newResponse(Settings{Settings: config.Settings{CacheControl: true, HeuristicFreshness: tc.heuristic}}, tc.status, config.NeverExpire, false, tc.reqCC, tc.h)
			if got != tc.want {
				t.Fatalf("NewResponse = %+v, want %+v", got, tc.want)
			}
		})
	}
	t.Run("not without cache_control", func(t *testing.T) {
		h := header("Last-Modified", lm(10*time.Hour))
		if got := newResponse(Settings{Settings: config.Settings{HeuristicFreshness: on}}, 200, config.NeverExpire, false, "", h); got.Heuristic() {
			t.Fatalf("NewResponse = %+v", got)
		}
	})
	t.Run("a lifetime the user wrote wins", func(t *testing.T) {
		h := header("Last-Modified", lm(10*time.Hour))
		got := newResponse(Settings{Settings: config.Settings{CacheControl: true, HeuristicFreshness: on}}, 200, config.After(5*time.Minute), true, "", h)
		if want := (Freshness{Store: true, ExpiresAt: t0.Add(5 * time.Minute), Lifetime: stores.LifetimeOption}); got != want {
			t.Fatalf("NewResponse = %+v, want %+v", got, want)
		}
	})
}

// §4: constructing responses from caches, with requests-cache's options.
func TestDecide(t *testing.T) {
	etag := header("ETag", `"v1"`)
	fresh := &Stored{Header: etag, CreatedAt: t0, RequestedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	stale := &Stored{Header: etag, CreatedAt: t0, RequestedAt: t0, ExpiresAt: t0.Add(-time.Minute)}
	staleNoValidator := &Stored{Header: http.Header{}, CreatedAt: t0, ExpiresAt: t0.Add(-time.Minute)}
	mustRevalidate := &Stored{Header: header("ETag", `"v1"`, "Cache-Control", "must-revalidate"), CreatedAt: t0, ExpiresAt: t0.Add(-time.Minute)}
	swrDirective := &Stored{Header: header("Cache-Control", "stale-while-revalidate=300"), CreatedAt: t0, ExpiresAt: t0.Add(-time.Minute)}
	cc := func(v string) Request {
		return Request{Directives: Parse(header("Cache-Control", v)), HasDirectives: true}
	}
	plain := Request{Directives: Absent()}
	swr := config.StaleLimit{Enabled: true}
	for _, tc := range []struct {
		name   string
		stored *Stored
		req    Request
		set    Settings
		want   Action
	}{
		{"nothing stored: fetch", nil, plain, Settings{}, Fetch},
		{"nothing stored, only_if_cached: 504", nil, Request{Directives: Absent(), Options: Options{OnlyIfCached: true}}, Settings{}, GatewayTimeout},
		{"nothing stored, only-if-cached directive: 504 (§5.2.1.7)", nil, cc("only-if-cached"), Settings{}, GatewayTimeout},
		{"fresh: serve (§4.2)", fresh, plain, Settings{}, Serve},
		{"fresh, always_revalidate: revalidate", fresh, plain, Settings{Settings: config.Settings{AlwaysRevalidate: true}}, Revalidate},
		{"force_refresh: fetch", fresh, Request{Directives: Absent(), Options: Options{ForceRefresh: true}}, Settings{}, Fetch},
		{"refresh with a validator: revalidate", fresh, Request{Directives: Absent(), Options: Options{Refresh: true}}, Settings{}, Revalidate},
		{"request no-cache without a validator: fetch (§5.2.1.4)", &Stored{Header: http.Header{}, ExpiresAt: t0.Add(time.Hour)}, cc("no-cache"), Settings{}, Fetch},
		{"request max-age older than allowed: revalidate (§5.2.1.1)", &Stored{Header: etag, CreatedAt: t0.Add(-10 * time.Minute), ExpiresAt: t0.Add(time.Hour)}, cc("max-age=60"), Settings{}, Revalidate},
		{"request min-fresh not met: revalidate (§5.2.1.3)", fresh, cc("min-fresh=7200"), Settings{}, Revalidate},
		{"stale with a validator: revalidate (§4.3)", stale, plain, Settings{}, Revalidate},
		{"stale without a validator: fetch", staleNoValidator, plain, Settings{}, Fetch},
		{"stale within max-stale: serve stale (§5.2.1.2)", stale, cc("max-stale=120"), Settings{}, ServeStale},
		{"stale past max-stale: revalidate", stale, cc("max-stale=10"), Settings{}, Revalidate},
		{"must-revalidate forbids max-stale (§5.2.2.2)", mustRevalidate, cc("max-stale"), Settings{Settings: config.Settings{CacheControl: true}}, Revalidate},
		{"stale, only-if-cached directive: 504", stale, cc("only-if-cached"), Settings{}, GatewayTimeout},
		{"stale, only_if_cached option: 504", stale, Request{Directives: Absent(), Options: Options{OnlyIfCached: true}}, Settings{}, GatewayTimeout},
		{"stale, only_if_cached, stale_if_error allows it: serve stale", stale, Request{Directives: Absent(), Options: Options{OnlyIfCached: true}}, Settings{Settings: config.Settings{StaleIfError: config.StaleLimit{Enabled: true}}}, ServeStale},
		{"stale, only_if_cached, max-stale allows it: serve stale", stale, Request{Directives: Parse(header("Cache-Control", "max-stale")), HasDirectives: true, Options: Options{OnlyIfCached: true}}, Settings{}, ServeStale},
		{"fresh, only_if_cached: serve", fresh, Request{Directives: Absent(), Options: Options{OnlyIfCached: true}}, Settings{}, Serve},
		{"only_if_cached never asks the origin: a refresh is a 504", fresh, Request{Directives: Absent(), Options: Options{OnlyIfCached: true, Refresh: true}}, Settings{}, GatewayTimeout},
		{"only-if-cached directive with ForceRefresh: 504, not the origin", fresh, Request{Directives: Parse(header("Cache-Control", "only-if-cached")), HasDirectives: true, Options: Options{ForceRefresh: true}}, Settings{}, GatewayTimeout},
		{"only_if_cached, always_revalidate with a validator: 504", fresh, Request{Directives: Absent(), Options: Options{OnlyIfCached: true}}, Settings{Settings: config.Settings{AlwaysRevalidate: true}}, GatewayTimeout},
		{"stale_while_revalidate setting", stale, plain, Settings{Settings: config.Settings{StaleWhileRevalidate: swr}}, ServeStaleAndRefresh},
		{"stale_while_revalidate, read_only: no refresh", stale, plain, Settings{Settings: config.Settings{StaleWhileRevalidate: swr, ReadOnly: true}}, Revalidate},
		{"stale-while-revalidate directive under cache_control (RFC 5861)", swrDirective, plain, Settings{Settings: config.Settings{CacheControl: true}}, ServeStaleAndRefresh},
		{"stale-while-revalidate directive ignored without cache_control", swrDirective, plain, Settings{}, Fetch},
		{"the request's stale-while-revalidate=N, as requests-cache honours it", stale, cc("stale-while-revalidate=120"), Settings{}, ServeStaleAndRefresh},
		{"the request's stale-while-revalidate=N, staler than it allows", stale, cc("stale-while-revalidate=30"), Settings{}, Revalidate},
		{"stale, only_if_cached option, stale_while_revalidate: serve stale, refresh (requests-cache)", stale, Request{Directives: Absent(), Options: Options{OnlyIfCached: true}}, Settings{Settings: config.Settings{StaleWhileRevalidate: swr}}, ServeStaleAndRefresh},
		{"stale, only-if-cached directive, stale_while_revalidate: 504 (nothing on its account to the origin)", stale, cc("only-if-cached"), Settings{Settings: config.Settings{StaleWhileRevalidate: swr}}, GatewayTimeout},
		{"always_revalidate wins over stale_while_revalidate", stale, plain, Settings{Settings: config.Settings{StaleWhileRevalidate: swr, AlwaysRevalidate: true}}, Revalidate},
		{"always_revalidate wins over the request's max-stale", stale, cc("max-stale"), Settings{Settings: config.Settings{AlwaysRevalidate: true}}, Revalidate},
		{"no-cache is never served stale, even by stale_while_revalidate (§4.2.4)", &Stored{Header: header("ETag", `"v1"`, "Cache-Control", "no-cache"), ExpiresAt: t0.Add(-time.Minute)}, plain, Settings{Settings: config.Settings{CacheControl: true, StaleWhileRevalidate: swr}}, Revalidate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Decide(t0, tc.stored, &tc.req, &tc.set); got.Action != tc.want {
				t.Fatalf("Decide = %v (%s), want %v", got.Action, got.Reason, tc.want)
			}
		})
	}
}

// RFC 5861 §4: stale-if-error, asked of Decide after a failed trip.
func TestStaleIfError(t *testing.T) {
	stale := func(cc string) *Stored {
		return &Stored{Header: header("Cache-Control", cc), ExpiresAt: t0.Add(-time.Minute)}
	}
	failed := func(cc string) Request {
		r := Request{Directives: Parse(header("Cache-Control", cc)), OriginFailed: true}
		r.HasDirectives = cc != ""
		return r
	}
	for _, tc := range []struct {
		name   string
		set    Settings
		stored *Stored
		req    Request
		want   bool
	}{
		{"setting, unbounded", Settings{Settings: config.Settings{StaleIfError: config.StaleLimit{Enabled: true}}}, stale(""), failed(""), true},
		{"setting, within its bound", Settings{Settings: config.Settings{StaleIfError: config.StaleLimit{Enabled: true, Max: time.Hour}}}, stale(""), failed(""), true},
		{"setting, past its bound", Settings{Settings: config.Settings{StaleIfError: config.StaleLimit{Enabled: true, Max: time.Second}}}, stale(""), failed(""), false},
		{"directive under cache_control", Settings{Settings: config.Settings{CacheControl: true}}, stale("stale-if-error=300"), failed(""), true},
		{"directive ignored without cache_control", Settings{}, stale("stale-if-error=300"), failed(""), false},
		{"must-revalidate wins over the directive", Settings{Settings: config.Settings{CacheControl: true}}, stale("stale-if-error=300, must-revalidate"), failed(""), false},
		{"no-cache wins over the setting (§4.2.4)", Settings{Settings: config.Settings{CacheControl: true, StaleIfError: config.StaleLimit{Enabled: true}}}, stale("no-cache"), failed(""), false},
		{"the request's own stale-if-error", Settings{}, stale(""), failed("stale-if-error=120"), true},
		{"the request's own, past its bound", Settings{}, stale(""), failed("stale-if-error=30"), false},
		{"nothing stored", Settings{Settings: config.Settings{StaleIfError: config.StaleLimit{Enabled: true}}}, nil, failed(""), false},
		{"a request that asked for the origin (no-cache) gets its error", Settings{Settings: config.Settings{StaleIfError: config.StaleLimit{Enabled: true}}}, stale(""), failed("no-cache"), false},
		{"off", Settings{Settings: config.Settings{CacheControl: true}}, stale(""), failed(""), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Decide(t0, tc.stored, &tc.req, &tc.set)
			if (got.Action == ServeStale) != tc.want || got.Action == ServeStale && got.Reason != ReasonStaleIfError {
				t.Fatalf("Decide = %v (%s), want stale %v", got.Action, got.Reason, tc.want)
			}
		})
	}
}

// §3.1, §3.2: what a store keeps, and what a 304 may update: one list.
func TestStorableHeaderAndMerge(t *testing.T) {
	h := header("Connection", "X-Hop", "X-Hop", "secret", "Set-Cookie", "a=1", "Cache-Status", "x", "ETag", `"1"`, "Keep-Alive", "5")
	if got := StorableHeader(h); len(got) != 1 || got.Get("ETag") != `"1"` {
		t.Fatalf("StorableHeader kept %v", got)
	}
	stored := header("ETag", `"1"`, "Content-Length", "10", "Cache-Control", "max-age=1")
	merged, changed := Merge(stored, header("Connection", "X-Hop", "X-Hop", "secret", "Set-Cookie", "a=1", "Content-Length", "0", "Cache-Control", "max-age=60", "Date", "now"))
	if !changed || merged.Get("Cache-Control") != "max-age=60" || merged.Get("Content-Length") != "10" || merged.Get("X-Hop") != "" || merged.Get("Set-Cookie") != "" || merged.Get("Connection") != "" {
		t.Fatalf("Merge = %v, changed %v", merged, changed)
	}
	if _, changed := Merge(stored, header("Date", "later", "Age", "3")); changed {
		t.Fatal("a 304 changing only Date and Age counted as a change")
	}
}

// The one storability decision's own checks beyond freshness.
func TestNewResponseGates(t *testing.T) {
	ok := header("Cache-Control", "max-age=60", "ETag", `"x"`)
	for _, tc := range []struct {
		name   string
		set    Settings
		status int
		h      http.Header
		resp   func(*Response)
		why    string
	}{
		{"read_only", Settings{Settings: config.Settings{ReadOnly: true}}, 200, ok, nil, "read-only"},
		{"a status outside allowable_codes", Settings{Codes: map[int]bool{200: true}}, 404, ok, nil, "status"},
		{"an event stream", Settings{}, 200, header("Content-Type", "text/event-stream; charset=utf-8"), nil, "event-stream"},
		{"Vary: *", Settings{}, 200, ok, func(r *Response) { r.VaryStar = true }, "vary"},
		{"a Vary on credentials, shared", Settings{}, 200, ok, func(r *Response) { r.VaryCredential = true }, "vary"},
		{"a Vary on credentials, separated", Settings{Settings: config.Settings{SeparateCredentials: true}}, 200, ok, func(r *Response) { r.VaryCredential = true }, ""},
		{"Set-Cookie, shared", Settings{}, 200, header("Set-Cookie", "a=1"), nil, "set-cookie"},
		{"Set-Cookie, separated", Settings{Settings: config.Settings{SeparateCredentials: true}}, 200, header("Set-Cookie", "a=1"), nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := tc.set
			if set.Codes == nil {
				set.Codes = map[int]bool{200: true}
			}
			resp := &Response{Status: tc.status, Header: tc.h, RequestedAt: t0, ReceivedAt: t0}
			if tc.resp != nil {
				tc.resp(resp)
			}
			req := Request{Directives: Absent()}
			if got := NewResponse(&req, resp, &set); string(got.Reason) != tc.why {
				t.Fatalf("NewResponse = %+v, want reason %q", got, tc.why)
			}
		})
	}
}

// §5.2.2.3: must-understand.
func TestMustUnderstand(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		cc     string
		store  bool
	}{
		{"understood status: no-store is ignored", 200, "must-understand, no-store, max-age=60", true},
		{"a status whose rules this cache does not know: not stored", 299, "must-understand, no-store, max-age=60", false},
		{"must-understand alone, understood", 404, "must-understand, max-age=60", true},
		{"no-store without must-understand", 200, "no-store, max-age=60", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := header("Cache-Control", tc.cc)
			if f := newResponse(Settings{Settings: config.Settings{CacheControl: true}}, tc.status, config.NeverExpire, false, "", h); f.Store != tc.store {
				t.Fatalf("NewResponse = %+v, want store %v", f, tc.store)
			}
		})
	}
}

// BenchmarkParseHTTPDate compares the hand-written IMF-fixdate path with
// time.Parse and its format-back check, in one run.
func BenchmarkParseHTTPDate(b *testing.B) {
	const v = "Mon, 23 Nov 2026 10:00:00 GMT"
	b.Run("fixdate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := ParseHTTPDate(v); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("time.Parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := parseHTTPDateLayouts(v); !ok {
				b.Fatal("refused")
			}
		}
	})
}

func TestExpiryChanged(t *testing.T) {
	at := t0
	for _, tc := range []struct {
		name                             string
		before, created, after, received time.Time
		want                             bool
	}{
		{"unchanged", at.Add(time.Minute), at, at.Add(time.Minute), at, false},
		{"extended", at.Add(time.Minute), at, at.Add(2 * time.Minute), at.Add(30 * time.Second), true},
		{"stale on arrival, and again (no-cache): not rewritten", at, at, at.Add(5 * time.Second), at.Add(5 * time.Second), false},
		{"stale on arrival, fresh now", at, at, at.Add(time.Hour), at.Add(5 * time.Second), true},
		{"never expired, now expires", time.Time{}, at, at.Add(time.Hour), at, true},
	} {
		if got := ExpiryChanged(tc.before, tc.created, tc.after, tc.received); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
