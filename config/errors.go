package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Error is every error returned by Load, Parse and Validate: a problem with
// one key of a configuration.
//
// Its message reads "FILE:LINE: KEY: problem", for example
//
//	reqcache.toml:7: expire_after: bad expiration "5 minutes": want never, ...
//
// File and Line are empty for a configuration built in code (Validate), Key
// for a problem that is not about one key (an unreadable file, a TOML syntax
// error before any key).
type Error struct {
	// File is the configuration file, as given to Load ("" for Validate).
	File string
	// Line is the 1-based line of the key in File (0 when unknown).
	Line int
	// Key is the dotted path of the key, with [i] for the i-th element
	// (0-based) of an array or array of tables: "mongo.uri",
	// "urls_expire_after[1].expire_after", "allowable_codes[2]".
	Key string
	// Err is the problem itself.
	Err error
}

// Error returns "FILE:LINE: KEY: problem", leaving out the parts that are
// unknown.
func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("invalid")
	}
	return b.String()
}

// Unwrap returns the underlying problem.
func (e *Error) Unwrap() error { return e.Err }

// keyError builds an *Error for key from a format.
func keyError(key, format string, args ...any) *Error {
	return &Error{Key: key, Err: fmt.Errorf(format, args...)}
}

// elemError is returned by the UnmarshalTOML methods for a bad element of a
// list, so that the loader can name the element's own key and line.
type elemError struct {
	index int
	err   error
}

func (e *elemError) Error() string { return fmt.Sprintf("element %d: %v", e.index, e.err) }
func (e *elemError) Unwrap() error { return e.err }

// splitElemError turns an elemError into the element's key and its problem.
func splitElemError(key string, err error) (string, error) {
	var ee *elemError
	if errors.As(err, &ee) {
		return indexKey(key, ee.index), ee.err
	}
	return key, err
}

// keyName spells one TOML key as it is written in a file: bare when it can
// be, quoted otherwise.
func keyName(name string) string {
	if name == "" {
		return `""`
	}
	for _, r := range name {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return strconv.Quote(name)
		}
	}
	return name
}

// joinKey is the path of the key name inside the table at parent.
func joinKey(parent, name string) string {
	if parent == "" {
		return keyName(name)
	}
	return parent + "." + keyName(name)
}

// indexKey is the path of the i-th element of the array at parent.
func indexKey(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

// parentKey is the path of the table or array holding key, "" at the top.
func parentKey(key string) string {
	// Scan from the end, skipping quoted names.
	inQuote := false
	for i := len(key) - 1; i >= 0; i-- {
		switch c := key[i]; {
		case c == '"' && !escaped(key, i):
			inQuote = !inQuote
		case inQuote:
		case c == '.' || c == '[':
			return key[:i]
		}
	}
	return ""
}

// escaped reports whether key[i] is preceded by an odd number of
// backslashes.
func escaped(key string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && key[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}
