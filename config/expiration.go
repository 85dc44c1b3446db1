package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ExpirationKind tells which of the forms of an Expiration is in use.
type ExpirationKind uint8

// The kinds of Expiration. The zero kind, Unset, means "no opinion": the next
// source in the precedence chain decides.
const (
	Unset ExpirationKind = iota
	Never
	Immediately
	NoCache // do_not_cache
	AfterDuration
	AtTime
)

// Expiration says how long a response stays fresh. The zero value is unset.
// Build one with NeverExpire, ExpireImmediately, DoNotCache, After or At, or
// parse one with ParseExpiration.
type Expiration struct {
	kind ExpirationKind
	d    time.Duration
	t    time.Time
}

var (
	// NeverExpire keeps a response fresh forever ("never").
	NeverExpire = Expiration{kind: Never}
	// ExpireImmediately stores only responses with a validator (ETag or
	// Last-Modified) and revalidates them on every use ("immediately").
	ExpireImmediately = Expiration{kind: Immediately}
	// DoNotCache neither reads from nor writes to the cache ("do_not_cache").
	DoNotCache = Expiration{kind: NoCache}
)

// After returns an Expiration that keeps a response fresh for d. A d of zero
// or less is ExpireImmediately, as in requests-cache.
func After(d time.Duration) Expiration {
	if d <= 0 {
		return ExpireImmediately
	}
	return Expiration{kind: AfterDuration, d: d}
}

// At returns an Expiration that keeps a response fresh until t.
func At(t time.Time) Expiration { return Expiration{kind: AtTime, t: t} }

// Kind reports which form e takes.
func (e Expiration) Kind() ExpirationKind { return e.kind }

// IsSet reports whether e says anything (it is not the zero value).
func (e Expiration) IsSet() bool { return e.kind != Unset }

// Duration returns the duration of an After expiration, else 0.
func (e Expiration) Duration() time.Duration { return e.d }

// Time returns the instant of an At expiration, else the zero time.
func (e Expiration) Time() time.Time { return e.t }

// ExpiresAt returns when a response received at now stops being fresh. The
// zero time means never. cache is false for DoNotCache. For
// ExpireImmediately it returns now (stale at once).
func (e Expiration) ExpiresAt(now time.Time) (expires time.Time, cache bool) {
	switch e.kind {
	case NoCache:
		return time.Time{}, false
	case Immediately:
		return now, true
	case AfterDuration:
		return now.Add(e.d), true
	case AtTime:
		return e.t, true
	default: // Never, Unset
		return time.Time{}, true
	}
}

// String returns the TOML spelling of e.
func (e Expiration) String() string {
	switch e.kind {
	case Never:
		return "never"
	case Immediately:
		return "immediately"
	case NoCache:
		return "do_not_cache"
	case AfterDuration:
		return e.d.String()
	case AtTime:
		return e.t.Format(time.RFC3339)
	default:
		return ""
	}
}

// ParseExpiration reads the string forms of expire_after: "never",
// "immediately", "do_not_cache", a Go duration ("90s", "1h30m"), a whole
// number of seconds, or an RFC 3339 time.
func ParseExpiration(s string) (Expiration, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "never", "-1":
		return NeverExpire, nil
	case "immediately", "0":
		return ExpireImmediately, nil
	case "do_not_cache":
		return DoNotCache, nil
	case "":
		return Expiration{}, fmt.Errorf("empty expiration: want never, immediately, do_not_cache, a duration, seconds or an RFC 3339 time")
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return SecondsExpiration(n)
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return Expiration{}, fmt.Errorf("negative duration %q", s)
		}
		return After(d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return At(t), nil
	}
	return Expiration{}, fmt.Errorf("bad expiration %q: want never, immediately, do_not_cache, a duration such as \"90s\", seconds or an RFC 3339 time", s)
}

// SecondsExpiration reads the integer form of expire_after: -1 is never, 0 is
// immediately, a positive number is that many seconds.
func SecondsExpiration(n int64) (Expiration, error) {
	const maxSeconds = int64(1<<63-1) / int64(time.Second)
	switch {
	case n == -1:
		return NeverExpire, nil
	case n == 0:
		return ExpireImmediately, nil
	case n < 0:
		return Expiration{}, fmt.Errorf("bad expiration %d: a negative number other than -1", n)
	case n > maxSeconds:
		return Expiration{}, fmt.Errorf("bad expiration %d: too many seconds", n)
	}
	return After(time.Duration(n) * time.Second), nil
}

// UnmarshalText lets an Expiration be read from TOML strings and from text.
func (e *Expiration) UnmarshalText(b []byte) error {
	v, err := ParseExpiration(string(b))
	if err != nil {
		return err
	}
	*e = v
	return nil
}

// MarshalText writes the TOML spelling of e.
func (e Expiration) MarshalText() ([]byte, error) { return []byte(e.String()), nil }
