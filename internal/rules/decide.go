package rules

import (
	"net/http"
	"time"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/stores"
)

// This file decides what to do with what the cache holds for a request
// (RFC 9111 §4, with requests-cache's options): serve it, serve it stale,
// serve it stale and refresh it, revalidate it, go to the origin, or answer
// 504 for only-if-cached. After a trip to the origin failed it decides
// whether the stored response answers instead (stale-if-error).

// Action is what to do for a request.
type Action int

// The actions, from the cheapest.
const (
	Fetch                Action = iota // go to the origin
	Serve                              // answer from the stored response
	ServeStale                         // answer from the stale stored response
	ServeStaleAndRefresh               // answer stale, refresh in the background
	Revalidate                         // a conditional request first
	GatewayTimeout                     // only-if-cached and nothing usable: 504
)

var actionNames = [...]string{"fetch", "serve", "serve-stale", "serve-stale-and-refresh", "revalidate", "gateway-timeout"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "action?"
}

// Reason says why Decide chose its action. The reasons a stale answer
// gives are the detail of its Cache-Status.
type Reason string

// The reasons.
const (
	ReasonMiss                 Reason = "miss"                   // nothing stored
	ReasonFresh                Reason = "fresh"                  // fresh for this request
	ReasonOnlyIfCached         Reason = "only-if-cached"         // the option or the directive: nothing reaches the origin
	ReasonForceRefresh         Reason = "force-refresh"          // ForceRefresh: whatever is stored
	ReasonRefresh              Reason = "refresh"                // Refresh: validate first
	ReasonRequestNoCache       Reason = "request-no-cache"       // the request's no-cache or Pragma (§5.2.1.4)
	ReasonRequestMaxAge        Reason = "request-max-age"        // older than the request's max-age (§5.2.1.1)
	ReasonRequestMinFresh      Reason = "request-min-fresh"      // less fresh than the request's min-fresh (§5.2.1.3)
	ReasonAlwaysRevalidate     Reason = "always-revalidate"      // always_revalidate
	ReasonStale                Reason = "stale"                  // past its lifetime
	ReasonMaxStale             Reason = "max-stale"              // stale within the request's max-stale (§5.2.1.2)
	ReasonStaleWhileRevalidate Reason = "stale-while-revalidate" // RFC 5861 §3, or the setting
	ReasonStaleIfError         Reason = "stale-if-error"         // RFC 5861 §4, or the setting
	ReasonOriginFailed         Reason = "origin-failed"          // the trip failed and no stale answer is allowed
)

// Decision is what Decide chose, and why.
type Decision struct {
	Action Action
	Reason Reason
	// At is the instant it was decided at (Decide's now): an answer made
	// from a stored response on its account gives that instant's Age and
	// ttl, so that a response decided fresh never says it is stale.
	At time.Time
}

// Stored is what the decision needs of a stored response.
type Stored struct {
	Header                            http.Header
	RequestedAt, CreatedAt, ExpiresAt time.Time // ExpiresAt zero: never
	// GeneratedAt is GeneratedAt(Header, RequestedAt, CreatedAt) as it
	// was stored; zero when not known (Age then reads the header).
	GeneratedAt time.Time
}

// Expired reports whether s is stale at now.
func (s *Stored) Expired(now time.Time) bool {
	return !s.ExpiresAt.IsZero() && !now.Before(s.ExpiresAt)
}

// Request is what the rules read of a request: for Decide and for
// NewResponse alike.
type Request struct {
	// Directives are the request's Cache-Control (with Pragma: no-cache
	// as no-cache); HasDirectives says it sent any.
	Directives    Directives
	HasDirectives bool
	// Options are the per-request options (session.OnlyIfCached,
	// ForceRefresh, Refresh: requests-cache's), with the only_if_cached
	// setting.
	Options
	// OriginFailed asks Decide, after a trip for this request failed (an
	// error, or an error status outside allowable_codes), whether the
	// stored response answers instead.
	OriginFailed bool
	// Expiration is the one chosen before the response is known
	// (WithExpireAfter > urls_expire_after > expire_after);
	// WrittenExpiration says the user wrote a lifetime (heuristic
	// freshness yields to it): per request, per URL, or an expire_after
	// that is a duration or a time.
	Expiration        config.Expiration
	WrittenExpiration bool
	// ExpirationFrom is the setting Expiration came from: a stored
	// response whose lifetime it gives records it.
	ExpirationFrom stores.Lifetime
}

// Options are the per-request options: answer only from the cache
// (offline); fetch whatever is stored; revalidate first.
type Options struct {
	OnlyIfCached, ForceRefresh, Refresh bool
}

// Settings are the settings the rules read, compiled once by Compile
// whenever the session's settings change.
type Settings struct {
	// Settings are the session's, as they are: a setting the rules read
	// is added once, in config.
	config.Settings
	// Codes are allowable_codes, as a set.
	Codes map[int]bool
}

// Compile reads the settings the rules use out of the session's.
func Compile(s *config.Settings) *Settings {
	set := &Settings{Settings: *s, Codes: make(map[int]bool, len(s.AllowableCodes))}
	for _, c := range s.AllowableCodes {
		set.Codes[c] = true
	}
	return set
}

// Decide chooses what to do at now for req, given the stored response
// (nil when nothing is stored).
func Decide(now time.Time, stored *Stored, req *Request, set *Settings) Decision {
	d := decide(now, stored, req, set)
	d.At = now
	return d
}

// decide is Decide without the instant (every return below is one choice).
func decide(now time.Time, stored *Stored, req *Request, set *Settings) Decision {
	d := &req.Directives
	if req.OriginFailed {
		if stored != nil && staleIfError(now, stored, req, set) {
			return Decision{Action: ServeStale, Reason: ReasonStaleIfError}
		}
		return Decision{Action: Fetch, Reason: ReasonOriginFailed}
	}
	if req.OnlyIfCached || d.OnlyIfCached {
		return offline(now, stored, req, set)
	}
	if stored == nil {
		return Decision{Action: Fetch, Reason: ReasonMiss}
	}
	if req.ForceRefresh {
		return Decision{Action: Fetch, Reason: ReasonForceRefresh}
	}
	if req.Refresh || d.NoCache {
		why := ReasonRefresh
		if !req.Refresh {
			why = ReasonRequestNoCache
		}
		return validate(stored, why)
	}
	fresh, why := !stored.Expired(now), ReasonStale
	if req.HasDirectives && fresh {
		if d.MaxAge >= 0 && stored.Age(now) > d.MaxAge {
			fresh, why = false, ReasonRequestMaxAge
		}
		if d.MinFresh >= 0 && !stored.ExpiresAt.IsZero() && stored.ExpiresAt.Sub(now) < d.MinFresh {
			fresh, why = false, ReasonRequestMinFresh
		}
	}
	if fresh {
		if set.AlwaysRevalidate && HasValidator(stored.Header) {
			return Decision{Action: Revalidate, Reason: ReasonAlwaysRevalidate}
		}
		return Decision{Action: Serve, Reason: ReasonFresh}
	}
	storedD := Absent()
	if set.CacheControl {
		storedD = Parse(stored.Header)
	}
	if set.AlwaysRevalidate && HasValidator(stored.Header) {
		// Every use asks the origin: no stale answer meanwhile, even one
		// the request would accept.
		return Decision{Action: Revalidate, Reason: ReasonAlwaysRevalidate}
	}
	mayServeStale := !noStaleUse(set, &storedD)
	staleness := now.Sub(stored.ExpiresAt)
	if req.HasDirectives && d.MaxStale >= 0 && staleness <= d.MaxStale && mayServeStale {
		return Decision{Action: ServeStale, Reason: ReasonMaxStale}
	}
	if d.OnlyIfCached {
		return Decision{Action: GatewayTimeout, Reason: ReasonOnlyIfCached} // §5.2.1.7
	}
	if mayServeStale && !set.ReadOnly && (staleWhileRevalidate(set, &storedD, staleness) ||
		req.HasDirectives && d.StaleWhileRevalidate >= 0 && staleness <= d.StaleWhileRevalidate) {
		// (The request's own stale-while-revalidate=N too, as
		// requests-cache honours it: the caller accepts that much
		// staleness while the cache refreshes.)
		return Decision{Action: ServeStaleAndRefresh, Reason: ReasonStaleWhileRevalidate}
	}
	return validate(stored, why)
}

// offline decides for a request that nothing may take to the origin:
// requests-cache's only_if_cached (the setting or OnlyIfCached) and the
// only-if-cached directive (§5.2.1.7). What the cache may use without the
// origin answers; anything else is the 504: nothing stored, a request that
// asks for the origin itself (ForceRefresh, Refresh, no-cache,
// always_revalidate with a validator), or a stale response the request
// does not accept (max-stale) — only_if_cached also accepts what
// stale-if-error would give, as if the origin had failed, and what
// stale-while-revalidate allows (refreshed in the background, as
// requests-cache does).
func offline(now time.Time, stored *Stored, req *Request, set *Settings) Decision {
	d := &req.Directives
	if stored == nil || req.ForceRefresh || req.Refresh || d.NoCache || set.AlwaysRevalidate && HasValidator(stored.Header) {
		return Decision{Action: GatewayTimeout, Reason: ReasonOnlyIfCached}
	}
	online := *req
	online.OnlyIfCached, online.Directives.OnlyIfCached = false, false
	switch dec := Decide(now, stored, &online, set); dec.Action {
	case Serve:
		return dec
	case ServeStale:
		if dec.Reason == ReasonMaxStale {
			return dec
		}
	case ServeStaleAndRefresh:
		// requests-cache's only_if_cached answers what
		// stale-while-revalidate allows and refreshes it in the
		// background; the only-if-cached directive never sends anything
		// to the origin on the request's account (§5.2.1.7).
		if req.OnlyIfCached && !d.OnlyIfCached {
			return dec
		}
	}
	if req.OnlyIfCached && stored.Expired(now) && staleIfError(now, stored, req, set) {
		return Decision{Action: ServeStale, Reason: ReasonOnlyIfCached}
	}
	return Decision{Action: GatewayTimeout, Reason: ReasonOnlyIfCached}
}

// validate is a conditional request when the stored response has a
// validator, else a fetch.
func validate(stored *Stored, why Reason) Decision {
	if HasValidator(stored.Header) {
		return Decision{Action: Revalidate, Reason: why}
	}
	return Decision{Action: Fetch, Reason: why}
}

// noStaleUse reports a stored response that must never be used stale:
// must-revalidate (§5.2.2.2), and no-cache, which forbids any use
// without validation (§5.2.2.4, §4.2.4).
func noStaleUse(set *Settings, stored *Directives) bool {
	return set.CacheControl && (stored.MustRevalidate || stored.NoCache)
}

// staleWhileRevalidate reports whether a response stale by staleness may be
// served while it is refreshed: the setting, or with cache_control the
// response's own stale-while-revalidate directive (RFC 5861).
func staleWhileRevalidate(set *Settings, d *Directives, staleness time.Duration) bool {
	if set.StaleWhileRevalidate.Allows(staleness) {
		return true
	}
	return set.CacheControl && d.StaleWhileRevalidate >= 0 && staleness <= d.StaleWhileRevalidate
}

// staleIfError reports whether a stored response may answer at now for a
// request whose trip failed: the stale_if_error setting, the request's own
// stale-if-error (RFC 5861 §4: whatever cache_control says, as every
// request directive), or with cache_control the response's; never past
// must-revalidate or no-cache, nor for a request that asked for the
// origin (ForceRefresh, Refresh, no-cache).
func staleIfError(now time.Time, stored *Stored, req *Request, set *Settings) bool {
	if req.ForceRefresh || req.Refresh || req.Directives.NoCache {
		// The request asked for the origin's answer, not a stored one.
		return false
	}
	staleness := max(0, now.Sub(stored.ExpiresAt))
	if stored.ExpiresAt.IsZero() {
		staleness = 0
	}
	storedD := Absent()
	if set.CacheControl {
		storedD = Parse(stored.Header)
	}
	if noStaleUse(set, &storedD) {
		return false
	}
	if set.StaleIfError.Allows(staleness) {
		return true
	}
	if d := req.Directives.StaleIfError; req.HasDirectives && d >= 0 && staleness <= d {
		return true
	}
	return storedD.StaleIfError >= 0 && staleness <= storedD.StaleIfError
}
