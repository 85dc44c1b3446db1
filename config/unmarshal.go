package config

import (
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// The UnmarshalTOML methods implement github.com/BurntSushi/toml's
// Unmarshaler for the keys that take more than one TOML type. Load calls them
// with the values the TOML parser produced (string, int64, float64, bool,
// time.Time, []any, map[string]any); so does toml.Decode when a Config is
// decoded directly.

// UnmarshalTOML reads expire_after: a string (see ParseExpiration), an
// integer number of seconds (-1 never, 0 immediately), or a TOML date-time
// with a UTC offset.
func (e *Expiration) UnmarshalTOML(v any) error {
	var (
		x   Expiration
		err error
	)
	switch v := v.(type) {
	case string:
		x, err = ParseExpiration(v)
	case int64:
		x, err = SecondsExpiration(v)
	case time.Time:
		if isLocalTime(v) {
			return fmt.Errorf("date-time %s has no UTC offset: write one, such as %sZ", v.Format("2006-01-02T15:04:05"), v.Format("2006-01-02T15:04:05"))
		}
		x = At(v)
	default:
		return fmt.Errorf("want never, immediately, do_not_cache, a duration string such as \"90s\", seconds or an RFC 3339 time; got %s", describe(v))
	}
	if err != nil {
		return err
	}
	*e = x
	return nil
}

// UnmarshalTOML reads match_headers: true, false, or a list of header names.
func (m *MatchHeaders) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case bool:
		*m = MatchHeaders{All: v}
		return nil
	case []any:
		names := make([]string, 0, len(v))
		for i, el := range v {
			s, ok := el.(string)
			if !ok {
				return &elemError{i, fmt.Errorf("want a header name (a string), got %s", describe(el))}
			}
			names = append(names, s)
		}
		*m = MatchHeaders{Names: names}
		return nil
	}
	return fmt.Errorf("want true, false or a list of header names, got %s", describe(v))
}

// UnmarshalTOML reads stale_if_error and stale_while_revalidate: true,
// false, a positive duration string ("10m"), or a positive number of
// seconds.
func (s *StaleLimit) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case bool:
		*s = StaleLimit{Enabled: v}
		return nil
	case string:
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("bad duration %q: want true, false or a duration such as \"10m\"", v)
		}
		if d <= 0 {
			return fmt.Errorf("duration %q is not positive: write false to turn it off", v)
		}
		*s = StaleLimit{Enabled: true, Max: d}
		return nil
	case int64:
		d, err := secondsDuration(v)
		if err != nil {
			return err
		}
		if d <= 0 {
			return fmt.Errorf("%d seconds is not positive: write false to turn it off", v)
		}
		*s = StaleLimit{Enabled: true, Max: d}
		return nil
	}
	return fmt.Errorf("want true, false or a duration such as \"10m\", got %s", describe(v))
}

// UnmarshalTOML reads a duration: a Go duration string ("5s", "1h30m") or an
// integer number of seconds.
func (d *Duration) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		x, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("bad duration %q: want a duration such as \"5s\" or \"1h30m\"", v)
		}
		*d = Duration(x)
		return nil
	case int64:
		x, err := secondsDuration(v)
		if err != nil {
			return err
		}
		*d = Duration(x)
		return nil
	}
	return fmt.Errorf("want a duration such as \"5s\" or a number of seconds, got %s", describe(v))
}

// String returns d in Go's duration syntax ("1m30s").
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes d in Go's duration syntax, so that a Config encodes
// back to TOML that Load reads.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// secondsDuration converts n seconds to a Duration, refusing overflow.
func secondsDuration(n int64) (time.Duration, error) {
	const maxSeconds = math.MaxInt64 / int64(time.Second)
	if n > maxSeconds || n < -maxSeconds {
		return 0, fmt.Errorf("%d seconds is out of range", n)
	}
	return time.Duration(n) * time.Second, nil
}

// isLocalTime reports whether t came from a TOML local date-time, date or
// time (no UTC offset). BurntSushi/toml marks them with these zone names.
func isLocalTime(t time.Time) bool {
	switch t.Location().String() {
	case "datetime-local", "date-local", "time-local":
		return true
	}
	return false
}

// describe names the TOML type of a decoded value, with the value itself
// when it is short, for error messages.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "nothing"
	case string:
		if utf8.RuneCountInString(v) > 40 {
			return "a string"
		}
		return "string " + strconv.Quote(v)
	case int64:
		return "integer " + strconv.FormatInt(v, 10)
	case float64:
		return "float " + strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return "boolean " + strconv.FormatBool(v)
	case time.Time:
		return "a date-time"
	case []any:
		return "an array"
	case []map[string]any:
		return "an array of tables"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("a %T", v)
}
