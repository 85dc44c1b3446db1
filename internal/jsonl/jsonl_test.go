package jsonl

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reqcache/reqcache/stores"
)

func entry(key, method, url string) *stores.Entry {
	return &stores.Entry{
		Key: key, Method: method, URL: url, StatusCode: 200,
		Header: http.Header{"Content-Type": {"text/plain"}}, RequestHeader: http.Header{},
		Body: []byte("body of " + key), CreatedAt: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC),
	}
}

// What Write writes, Read reads back, in Write's order: entries by URL,
// method and key, then aliases by name.
func TestWriteThenRead(t *testing.T) {
	entries := []*stores.Entry{entry("k3", "GET", "https://b.example/"), entry("k2", "HEAD", "https://a.example/"), entry("k1", "GET", "https://a.example/")}
	aliases := []Line{Alias("v:2", "k2"), Alias("v:1", "k1")}
	var buf bytes.Buffer
	if err := Write(&buf, entries, aliases); err != nil {
		t.Fatal(err)
	}
	var got []string
	n, err := Read(&buf, 1<<20, func(n int, e *stores.Entry, alias [2]string) error {
		if e != nil {
			got = append(got, e.Key+" "+string(e.Body))
		} else {
			got = append(got, alias[0]+"="+alias[1])
		}
		return nil
	})
	if err != nil {
		t.Fatalf("line %d: %v", n, err)
	}
	want := []string{"k1 body of k1", "k2 body of k2", "k3 body of k3", "v:1=k1", "v:2=k2"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("read %q, want %q", got, want)
	}
}

// Read names the line it stopped at: one that is not an export's, one too
// long, one the caller refuses, and an empty input (line 1).
func TestReadNamesTheLine(t *testing.T) {
	var one bytes.Buffer
	if err := Write(&one, []*stores.Entry{entry("k1", "GET", "https://a.example/")}, nil); err != nil {
		t.Fatal(err)
	}
	line := one.String()
	refused := errors.New("refused")
	for _, tc := range []struct {
		name, input string
		maxLine     int64
		fn          func(int, *stores.Entry, [2]string) error
		wantLine    int
		wantErr     string
	}{
		{"not JSON", line + "{oops\n", 1 << 20, nil, 2, "not a JSON object"},
		{"unknown version", line + `{"v":9,"alias":"a","value":"b"}` + "\n", 1 << 20, nil, 2, "unknown version 9"},
		{"too long", line + line, int64(len(line)) - 2, nil, 1, "line longer than"},
		{"refused by the caller", line + line, 1 << 20, func(n int, _ *stores.Entry, _ [2]string) error {
			if n == 2 {
				return refused
			}
			return nil
		}, 2, "refused"},
		{"empty", "", 1 << 20, nil, 1, "empty input"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fn := tc.fn
			if fn == nil {
				fn = func(int, *stores.Entry, [2]string) error { return nil }
			}
			n, err := Read(strings.NewReader(tc.input), tc.maxLine, fn)
			if err == nil || n != tc.wantLine || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Read: line %d, %v; want line %d, an error with %q", n, err, tc.wantLine, tc.wantErr)
			}
		})
	}
}

// A last line without its newline is read like the others.
func TestReadALastLineWithoutNewline(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, []*stores.Entry{entry("k1", "GET", "https://a.example/")}, nil); err != nil {
		t.Fatal(err)
	}
	input := strings.TrimSuffix(buf.String(), "\n")
	lines := 0
	if _, err := Read(strings.NewReader(input), 1<<20, func(int, *stores.Entry, [2]string) error { lines++; return nil }); err != nil || lines != 1 {
		t.Fatalf("read %d lines, %v; want 1, nil", lines, err)
	}
}

// Any input is read without a panic; what reads cleanly writes back to
// lines that read as the same entries and aliases (an export of an
// import is the import).
func FuzzRead(f *testing.F) {
	var one bytes.Buffer
	if err := Write(&one, []*stores.Entry{entry("k1", "GET", "https://a.example/")}, []Line{Alias("v:1", "k1")}); err != nil {
		f.Fatal(err)
	}
	f.Add(one.String())
	f.Add(`{"v":1,"key":"k","method":"GET","url":"https://x/","status":200,"created_at":"2026-01-02T03:04:05Z","body_base64":"AAE="}`)
	f.Add(`{"v":1,"alias":"a","value":"b"}` + "\r\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, input string) {
		var entries []*stores.Entry
		var aliases []Line
		read := func(r string) (string, error) {
			entries, aliases = nil, nil
			_, err := Read(strings.NewReader(r), 1<<16, func(_ int, e *stores.Entry, alias [2]string) error {
				if e != nil {
					entries = append(entries, e)
				} else {
					aliases = append(aliases, Alias(alias[0], alias[1]))
				}
				return nil
			})
			if err != nil {
				return "", err
			}
			var out bytes.Buffer
			if err := Write(&out, entries, aliases); err != nil {
				t.Fatalf("what was read does not write: %v", err)
			}
			return out.String(), nil
		}
		first, err := read(input)
		if err != nil {
			return
		}
		second, err := read(first)
		if err != nil {
			t.Fatalf("lines Write wrote do not read: %v\n%s", err, first)
		}
		if first != second {
			t.Fatalf("written again, the lines differ:\n%s\n%s", first, second)
		}
	})
}
