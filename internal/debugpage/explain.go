package debugpage

import (
	"fmt"
	"time"

	"github.com/reqcache/reqcache/internal/rules"
	"github.com/reqcache/reqcache/stores"
)

// explain says, in sentences, whether e is fresh at now and why: where its
// lifetime came from, what happens once it is stale. It reads the stored
// entry only: the expiration and where it came from were decided when the
// response was stored, by the rules in internal/rules under the settings
// and the request of that moment (which this page cannot know again).
func explain(e *stores.Entry, now time.Time) []string {
	d := rules.Parse(e.Header)
	var out []string
	switch {
	case e.ExpiresAt.IsZero():
		out = append(out, "Fresh: it never expires.")
	case e.Expired(now):
		out = append(out, fmt.Sprintf("Stale since %s (%s ago).", e.ExpiresAt.UTC().Format(time.RFC3339), roundDuration(now.Sub(e.ExpiresAt))))
	default:
		out = append(out, fmt.Sprintf("Fresh until %s (%s left).", e.ExpiresAt.UTC().Format(time.RFC3339), roundDuration(e.ExpiresAt.Sub(now))))
	}
	if sentence := lifetimeSentence(e, &d); sentence != "" {
		out = append(out, sentence)
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

// lifetimeSentence says where e's lifetime came from, as the storability
// decision recorded it.
func lifetimeSentence(e *stores.Entry, d *rules.Directives) string {
	lifetime := "no end"
	if !e.ExpiresAt.IsZero() {
		lifetime = roundDuration(e.ExpiresAt.Sub(e.CreatedAt)).String()
	}
	switch e.Lifetime {
	case stores.LifetimeHeuristic:
		return fmt.Sprintf("Its lifetime of %s is a heuristic: 10%% of the time since its Last-Modified (heuristic_freshness), as nothing gave one.", lifetime)
	case stores.LifetimeNoCache:
		return "It was stale as it arrived: the response said Cache-Control: no-cache."
	case stores.LifetimeImmutable:
		return "It never goes stale: the response said Cache-Control: immutable."
	case stores.LifetimeMaxAge:
		return fmt.Sprintf("Its lifetime of %s: the response says max-age=%d (its Age, if any, already counted).", lifetime, int64(d.MaxAge/time.Second))
	case stores.LifetimeExpires:
		return fmt.Sprintf("Its lifetime of %s: the response's Expires, counted from its Date.", lifetime)
	case stores.LifetimeRequestMaxAge:
		return fmt.Sprintf("Its lifetime of %s: the request that stored it said Cache-Control: max-age.", lifetime)
	case stores.LifetimeOption:
		return fmt.Sprintf("Its lifetime of %s: WithExpireAfter on the request that stored it.", lifetime)
	case stores.LifetimeURLRule:
		return fmt.Sprintf("Its lifetime of %s: a pattern of urls_expire_after matched its URL.", lifetime)
	case stores.LifetimeExpireAfter:
		return fmt.Sprintf("Its lifetime of %s: the expire_after setting (nothing in the response or the request gave one).", lifetime)
	case stores.LifetimeReset:
		return "Its expiration was set by Cache.ResetExpiration, after it was stored."
	}
	if e.ExpiresAt.IsZero() {
		return ""
	}
	return fmt.Sprintf("Its lifetime of %s was decided when it was stored, by a version of reqcache that did not record where it came from.", lifetime)
}

// roundDuration is d to the second, or to the millisecond under a second.
func roundDuration(d time.Duration) time.Duration {
	if d > -time.Second && d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Second)
}
