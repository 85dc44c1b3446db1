package rules

import (
	"net/url"
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
	glob   glob           // scheme stripped, lower case, trailing * implied
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
			r.glob = compileGlob(globOf(u.Pattern))
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
	whole := "" // the URL a regex searches, made once when one needs it
	for _, r := range rs {
		if r.re != nil {
			if whole == "" {
				whole = strings.ToLower(u.Scheme) + "://" + target
			}
			if r.re.MatchString(whole) {
				return r.expire, true
			}
		} else if r.glob.match(target) {
			return r.expire, true
		}
	}
	return config.Expiration{}, false
}

// globOf turns a urls_expire_after pattern (valid: config checked it) into
// the glob matched against host and path: the scheme is ignored and a
// trailing * implied, as in requests-cache; * matches across "/" (glob.go).
func globOf(pattern string) string {
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
