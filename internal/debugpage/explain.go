package debugpage

import (
	"fmt"
	"time"

	"github.com/reqcache/reqcache/internal/rules"
	"github.com/reqcache/reqcache/stores"
)

// explain says, in sentences, whether e is fresh at now and why: where its
// lifetime came from, what happens once it is stale. It reads the stored
// entry only (the expiration was chosen when the response was stored, by
// the rules in internal/rules under the settings of that moment).
func explain(e *stores.Entry, now time.Time) []string {
	d := rules.Parse(e.Header)
	var out []string
	switch {
	case e.ExpiresAt.IsZero():
		out = append(out, "Fresh: it never expires (expire_after = \"never\" and no lifetime in its headers, or a setting that says so).")
	case e.Expired(now):
		out = append(out, fmt.Sprintf("Stale since %s (%s ago).", e.ExpiresAt.UTC().Format(time.RFC3339), roundDuration(now.Sub(e.ExpiresAt))))
	default:
		out = append(out, fmt.Sprintf("Fresh until %s (%s left).", e.ExpiresAt.UTC().Format(time.RFC3339), roundDuration(e.ExpiresAt.Sub(now))))
	}
	if !e.ExpiresAt.IsZero() {
		lifetime := roundDuration(e.ExpiresAt.Sub(e.CreatedAt))
		lt, explicit := rules.ExplicitLifetime(e.Header, &d, e.CreatedAt)
		switch {
		case e.Heuristic:
			out = append(out, fmt.Sprintf("Its lifetime of %s is a heuristic: 10%% of the time since its Last-Modified (heuristic_freshness), as nothing gave one.", lifetime))
		case explicit && d.MaxAge >= 0:
			out = append(out, fmt.Sprintf("Its lifetime of %s: the response says max-age=%d (its Age, if any, already counted).", lifetime, int64(d.MaxAge/time.Second)))
		case explicit:
			out = append(out, fmt.Sprintf("Its lifetime of %s: the response's Expires (%s from its Date).", lifetime, roundDuration(lt)))
		default:
			out = append(out, fmt.Sprintf("Its lifetime of %s comes from the settings (expire_after or urls_expire_after).", lifetime))
		}
	}
	if d.NoCache {
		out = append(out, "Cache-Control: no-cache: every use is revalidated with the origin first.")
	}
	switch {
	case e.Header.Get("ETag") != "":
		out = append(out, "Once stale it is revalidated with If-None-Match (it has an ETag): a 304 refreshes it without a new body.")
	case e.Header.Get("Last-Modified") != "":
		out = append(out, "Once stale it is revalidated with If-Modified-Since (it has a Last-Modified): a 304 refreshes it without a new body.")
	default:
		out = append(out, "It has no validator (ETag, Last-Modified): once stale it is fetched again in full.")
	}
	if d.MustRevalidate {
		out = append(out, "must-revalidate: never served stale, not even when the origin fails.")
	}
	if d.StaleWhileRevalidate > 0 {
		out = append(out, fmt.Sprintf("stale-while-revalidate=%d: for that long after it goes stale it is served at once while a refresh runs in the background.", int64(d.StaleWhileRevalidate/time.Second)))
	}
	if d.StaleIfError > 0 {
		out = append(out, fmt.Sprintf("stale-if-error=%d: served stale for that long when the origin fails.", int64(d.StaleIfError/time.Second)))
	}
	if !e.DiscardAt.IsZero() {
		out = append(out, fmt.Sprintf("Kept until %s, then discarded even for revalidation.", e.DiscardAt.UTC().Format(time.RFC3339)))
	}
	if v := e.Header.Get("Vary"); v != "" {
		out = append(out, fmt.Sprintf("Vary: %s: it answers only requests whose %s match the stored request's.", v, v))
	}
	return out
}

// roundDuration is d to the second, or to the millisecond under a second.
func roundDuration(d time.Duration) time.Duration {
	if d > -time.Second && d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Second)
}
