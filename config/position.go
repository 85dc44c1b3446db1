package config

import (
	"sort"
	"strconv"
	"strings"
)

// BurntSushi/toml v1.6 keeps the position of every key while it decodes but
// does not export it (MetaData has no Position method), and the position it
// keeps for a key inside an array of tables is that of the last table only.
// So the loader finds lines itself: once the TOML parser has accepted a file,
// indexLines walks its text and records the line of every key, table header
// and array element under the same paths that Error.Key uses
// ("urls_expire_after[1].expire_after"). The walk assumes valid TOML (the
// parser has checked it) and, whatever the input, never loops forever or
// panics: on anything unexpected it skips a byte.

// lineIndex maps a key path to the 1-based line where it first appears.
type lineIndex map[string]int

// lineOf returns the line of key, or of its nearest ancestor in the file
// when the key itself is not written there (a missing key, a default). 0
// when neither is.
func (ix lineIndex) lineOf(key string) int {
	for key != "" {
		if l, ok := ix[key]; ok {
			return l
		}
		key = parentKey(key)
	}
	return 0
}

// indexLines records the line of every key of a valid TOML document.
func indexLines(text string) lineIndex {
	s := &lineScanner{s: text, ix: lineIndex{}, aot: map[string]int{}}
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' {
			s.newlines = append(s.newlines, i)
		}
	}
	if strings.HasPrefix(text, "\uFEFF") {
		s.pos = len("\uFEFF")
	}
	for {
		s.skipBlank()
		if s.eof() {
			break
		}
		start := s.pos
		if s.peek() == '[' {
			s.header()
		} else {
			s.keyValue(s.table)
		}
		if s.pos == start {
			s.pos++
		}
	}
	return s.ix
}

type lineScanner struct {
	s        string
	pos      int
	newlines []int          // offsets of '\n'
	ix       lineIndex      // the result
	aot      map[string]int // array-of-tables path -> tables seen so far
	table    string         // path of the current [table]
}

func (s *lineScanner) eof() bool  { return s.pos >= len(s.s) }
func (s *lineScanner) peek() byte { return s.s[s.pos] }

// line is the 1-based line of byte offset pos.
func (s *lineScanner) line(pos int) int {
	return sort.SearchInts(s.newlines, pos) + 1
}

func (s *lineScanner) record(path string, line int) {
	if _, ok := s.ix[path]; !ok {
		s.ix[path] = line
	}
}

// skipSpace skips blanks within a line.
func (s *lineScanner) skipSpace() {
	for !s.eof() && (s.peek() == ' ' || s.peek() == '\t') {
		s.pos++
	}
}

// skipBlank skips blanks, line ends and comments.
func (s *lineScanner) skipBlank() {
	for !s.eof() {
		switch s.peek() {
		case ' ', '\t', '\r', '\n':
			s.pos++
		case '#':
			if i := strings.IndexByte(s.s[s.pos:], '\n'); i >= 0 {
				s.pos += i
			} else {
				s.pos = len(s.s)
			}
		default:
			return
		}
	}
}

// header reads [table] or [[array.of.tables]] and makes it current.
func (s *lineScanner) header() {
	line := s.line(s.pos)
	s.pos++ // [
	aot := !s.eof() && s.peek() == '['
	if aot {
		s.pos++
	}
	parts := s.keyParts()
	s.skipSpace()
	for n := 0; n < 2 && !s.eof() && s.peek() == ']'; n++ {
		s.pos++
	}
	if len(parts) == 0 {
		return
	}
	path := ""
	for i, p := range parts {
		path = joinKey(path, p)
		last := i == len(parts)-1
		if last && aot {
			n := s.aot[path]
			s.aot[path] = n + 1
			s.record(path, line)
			path = indexKey(path, n)
		} else if n, ok := s.aot[path]; ok {
			// [a.b] after [[a]] is a table inside the last a.
			path = indexKey(path, n-1)
		}
		s.record(path, line)
	}
	s.table = path
}

// keyValue reads "dotted.key = value" inside the table at table.
func (s *lineScanner) keyValue(table string) {
	line := s.line(s.pos)
	parts := s.keyParts()
	if len(parts) == 0 {
		return
	}
	path := table
	for _, p := range parts {
		path = joinKey(path, p)
		s.record(path, line)
	}
	s.skipSpace()
	if !s.eof() && s.peek() == '=' {
		s.pos++
	}
	s.skipSpace()
	s.value(path)
}

// keyParts reads a possibly dotted, possibly quoted key.
func (s *lineScanner) keyParts() []string {
	var parts []string
	for {
		s.skipSpace()
		if s.eof() {
			return parts
		}
		var part string
		switch s.peek() {
		case '"':
			raw := s.basicString()
			if u, err := strconv.Unquote(`"` + raw + `"`); err == nil {
				part = u
			} else {
				part = raw
			}
		case '\'':
			part = s.literalString()
		default:
			start := s.pos
			for !s.eof() && !strings.ContainsRune(" \t\r\n=.[]\"'#{},", rune(s.peek())) {
				s.pos++
			}
			if s.pos == start {
				return parts
			}
			part = s.s[start:s.pos]
		}
		parts = append(parts, part)
		s.skipSpace()
		if s.eof() || s.peek() != '.' {
			return parts
		}
		s.pos++
	}
}

// value skips one value, recording the keys and elements inside it.
func (s *lineScanner) value(path string) {
	if s.eof() {
		return
	}
	switch {
	case strings.HasPrefix(s.s[s.pos:], `"""`):
		s.multiline(`"""`, true)
	case strings.HasPrefix(s.s[s.pos:], `'''`):
		s.multiline(`'''`, false)
	case s.peek() == '"':
		s.basicString()
	case s.peek() == '\'':
		s.literalString()
	case s.peek() == '[':
		s.array(path)
	case s.peek() == '{':
		s.inlineTable(path)
	default:
		for !s.eof() && !strings.ContainsRune(",]}\r\n#", rune(s.peek())) {
			s.pos++
		}
	}
}

func (s *lineScanner) array(path string) {
	s.pos++ // [
	for i := 0; ; {
		s.skipBlank()
		if s.eof() {
			return
		}
		switch s.peek() {
		case ']':
			s.pos++
			return
		case ',':
			s.pos++
			continue
		}
		start := s.pos
		el := indexKey(path, i)
		s.record(el, s.line(s.pos))
		s.value(el)
		i++
		if s.pos == start {
			s.pos++
		}
	}
}

func (s *lineScanner) inlineTable(path string) {
	s.pos++ // {
	for {
		s.skipBlank()
		if s.eof() {
			return
		}
		switch s.peek() {
		case '}':
			s.pos++
			return
		case ',':
			s.pos++
			continue
		}
		start := s.pos
		s.keyValue(path)
		if s.pos == start {
			s.pos++
		}
	}
}

// basicString skips "..." and returns its raw content.
func (s *lineScanner) basicString() string {
	s.pos++ // "
	start := s.pos
	for !s.eof() {
		switch s.peek() {
		case '\\':
			s.pos += 2
			continue
		case '"':
			raw := s.s[start:s.pos]
			s.pos++
			return raw
		case '\n':
			return s.s[start:s.pos]
		}
		s.pos++
	}
	s.pos = len(s.s)
	return s.s[start:]
}

// literalString skips '...' and returns its content.
func (s *lineScanner) literalString() string {
	s.pos++ // '
	start := s.pos
	for !s.eof() {
		switch s.peek() {
		case '\'':
			raw := s.s[start:s.pos]
			s.pos++
			return raw
		case '\n':
			return s.s[start:s.pos]
		}
		s.pos++
	}
	return s.s[start:]
}

// multiline skips a multi-line string (triple quotes); up to two more quotes before
// the closing delimiter belong to the string.
func (s *lineScanner) multiline(delim string, escapes bool) {
	s.pos += len(delim)
	for !s.eof() {
		if escapes && s.peek() == '\\' {
			s.pos += 2
			continue
		}
		if strings.HasPrefix(s.s[s.pos:], delim) {
			s.pos += len(delim)
			for n := 0; n < 2 && !s.eof() && s.peek() == delim[0]; n++ {
				s.pos++
			}
			return
		}
		s.pos++
	}
}
