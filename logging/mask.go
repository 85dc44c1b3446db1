package logging

import "strings"

// Masked replaces a secret in what MaskURI returns.
const Masked = "xxxxx"

// Unparseable is what MaskURI returns for a string it cannot read but that
// may hold a secret: nothing of it is shown.
const Unparseable = "<unparseable URI>"

// MaskURI returns uri with its secrets replaced by Masked, for logging a
// connection string such as a MongoDB URI:
//
//	mongodb://user:secret@host/db  ->  mongodb://user:xxxxx@host/db
//
// It masks the password of the user information (mongodb://, mongodb+srv://
// and any other scheme) and the values of query options whose names hold
// "password", "secret" or "token" (and such properties inside
// authMechanismProperties). A URI without a secret comes back unchanged.
//
// MaskURI errs on the side of hiding: a password holding unescaped '@', '/'
// or '?' is still masked whole, and a string it cannot make sense of that
// might hold a secret becomes Unparseable. It never panics.
func MaskURI(uri string) string {
	sep := strings.Index(uri, "://")
	if sep < 0 || !validScheme(uri[:sep]) {
		if mightHoldSecret(uri) {
			return Unparseable
		}
		return uri
	}
	head, rest := uri[:sep+len("://")], uri[sep+len("://"):]

	// The user information ends at the last '@' that a host follows: the
	// password cannot reach past it, whatever it holds.
	hostStart := 0
	if strings.Contains(rest, "@") {
		at := -1
		for j := len(rest) - 1; j >= 0; j-- {
			if rest[j] == '@' && looksLikeHost(rest[j+1:]) {
				at = j
				break
			}
		}
		if at < 0 {
			return Unparseable
		}
		userinfo := rest[:at]
		if c := strings.IndexByte(userinfo, ':'); c >= 0 {
			rest = userinfo[:c+1] + Masked + rest[at:]
			at = c + 1 + len(Masked)
		}
		hostStart = at + 1
	}

	q := strings.IndexByte(rest[hostStart:], '?')
	if q < 0 {
		return head + rest
	}
	q += hostStart
	return head + rest[:q+1] + maskQuery(rest[q+1:])
}

// maskQuery masks secret option values in a query (options separated by
// '&' or ';').
func maskQuery(query string) string {
	var b strings.Builder
	for query != "" {
		end := strings.IndexAny(query, "&;")
		opt, sep := query, ""
		if end >= 0 {
			opt, sep, query = query[:end], query[end:end+1], query[end+1:]
		} else {
			query = ""
		}
		if k, v, ok := strings.Cut(opt, "="); ok {
			switch {
			case sensitiveName(k):
				opt = k + "=" + Masked
			case strings.EqualFold(k, "authMechanismProperties"):
				opt = k + "=" + maskProperties(v)
			}
		}
		b.WriteString(opt)
		b.WriteString(sep)
	}
	return b.String()
}

// maskProperties masks secret values in "NAME:value,NAME:value" lists
// (percent-encoded separators included).
func maskProperties(v string) string {
	decoded := strings.NewReplacer("%3A", ":", "%3a", ":", "%2C", ",", "%2c", ",").Replace(v)
	parts := strings.Split(decoded, ",")
	for i, p := range parts {
		if name, _, ok := strings.Cut(p, ":"); ok && sensitiveName(name) {
			parts[i] = name + ":" + Masked
		}
	}
	return strings.Join(parts, ",")
}

// sensitiveName reports whether an option name looks like it holds a
// secret.
func sensitiveName(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "password") || strings.Contains(n, "secret") ||
		strings.Contains(n, "token") || n == "pwd" || n == "pass"
}

// mightHoldSecret is the test for strings MaskURI cannot parse.
func mightHoldSecret(s string) bool {
	if strings.ContainsAny(s, "@") {
		return true
	}
	n := strings.ToLower(s)
	return strings.Contains(n, "password") || strings.Contains(n, "secret") ||
		strings.Contains(n, "token") || strings.Contains(n, "pwd")
}

// validScheme reports whether s is an RFC 3986 scheme.
func validScheme(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// looksLikeHost reports whether s starts with a host list (what follows the
// user information), up to the path, query or fragment.
func looksLikeHost(s string) bool {
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c >= 0x80:
		case strings.IndexByte(".-_~:,[]%", c) >= 0:
		default:
			return false
		}
	}
	return true
}
