package rules

import (
	"net/url"
	"path"
	"regexp"
	"strings"

	"github.com/reqcache/reqcache/config"
)

// This file matches URLs against urls_expire_after: globs over host, path
// and query (the scheme ignored, a trailing * implied, as requests-cache
// does) or regular expressions searched in the whole URL.

// URLRules are urls_expire_after compiled once: the first match in file
// order wins.
type URLRules []urlRule

type urlRule struct {
	glob   string         // scheme stripped, lower case, trailing * implied
	re     *regexp.Regexp // instead of glob: searched in the whole URL
	expire config.Expiration
}

// CompileURLRules compiles a valid (config checked it) urls_expire_after.
func CompileURLRules(list []config.URLExpiration) URLRules {
	var rs URLRules
	for _, u := range list {
		r := urlRule{expire: u.ExpireAfter}
		if u.Regex != "" {
			r.re = regexp.MustCompile(u.Regex)
		} else {
			r.glob = compilePattern(u.Pattern)
		}
		rs = append(rs, r)
	}
	return rs
}

// Expiration returns the expiration of the first rule u matches.
func (rs URLRules) Expiration(u *url.URL) (config.Expiration, bool) {
	if len(rs) == 0 || u == nil {
		return config.Expiration{}, false
	}
	target := strings.ToLower(u.Host) + u.EscapedPath()
	if u.RawQuery != "" {
		target += "?" + u.RawQuery
	}
	for _, r := range rs {
		if r.re != nil {
			if r.re.MatchString(strings.ToLower(u.Scheme) + "://" + target) {
				return r.expire, true
			}
		} else if ok, _ := globMatch(r.glob, target); ok {
			return r.expire, true
		}
	}
	return config.Expiration{}, false
}

// compilePattern turns a urls_expire_after pattern (valid: config checked
// it) into the glob matched against host and path: the scheme is ignored
// and a trailing * implied, as in requests-cache; * matches across "/".
func compilePattern(pattern string) string {
	p := pattern
	if i := strings.Index(p, "://"); i >= 0 {
		p = p[i+3:]
	}
	glob := strings.ToLower(p)
	if !strings.HasSuffix(glob, "*") {
		glob += "*"
	}
	return glob
}

// globMatch is fnmatch: * matches any run of characters ("/" included), ?
// any one character, [...] a class (path.Match syntax).
func globMatch(pattern, s string) (bool, error) {
	first, rest, star := strings.Cut(pattern, "*")
	if !star {
		return path.Match(pattern, s)
	}
	// Validate the whole pattern once, whatever s is.
	if _, err := path.Match(strings.ReplaceAll(pattern, "*", ""), ""); err != nil {
		return false, err
	}
	for i := 0; i <= len(s); i++ {
		if ok, _ := path.Match(first, s[:i]); !ok {
			continue
		}
		if rest == "" {
			return true, nil
		}
		for j := i; j <= len(s); j++ {
			if ok, _ := globMatch(rest, s[j:]); ok {
				return true, nil
			}
		}
		return false, nil
	}
	return false, nil
}
