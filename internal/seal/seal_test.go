package seal

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func TestSealOpens(t *testing.T) {
	old, _ := New(key(1))
	ring, err := New(key(2), key(1)) // rotated: 2 seals, both open
	if err != nil {
		t.Fatal(err)
	}
	kid, sealed := ring.Seal([]byte("entry-a"), []byte("secret body"))
	if kid != ring.KeyID() || bytes.Contains(sealed, []byte("secret body")) {
		t.Fatalf("kid %s, sealed %q", kid, sealed)
	}
	if got, err := ring.Open(kid, []byte("entry-a"), sealed); err != nil || string(got) != "secret body" {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, again := ring.Seal([]byte("entry-a"), []byte("secret body")); bytes.Equal(again, sealed) {
		t.Fatal("two seals of one value are equal: the nonce is not fresh")
	}
	if _, err := ring.Open(kid, []byte("entry-b"), sealed); !errors.Is(err, ErrOpen) {
		t.Fatalf("moved under another key: %v, want ErrOpen", err)
	}
	altered := append([]byte(nil), sealed...)
	altered[len(altered)-1] ^= 1
	if _, err := ring.Open(kid, []byte("entry-a"), altered); !errors.Is(err, ErrOpen) {
		t.Fatalf("altered: %v, want ErrOpen", err)
	}
	if _, err := old.Open(kid, []byte("entry-a"), sealed); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("a ring without the key: %v, want ErrUnknownKey", err)
	}
	oldKid, oldSealed := old.Seal([]byte("entry-a"), []byte("v1"))
	if got, err := ring.Open(oldKid, []byte("entry-a"), oldSealed); err != nil || string(got) != "v1" {
		t.Fatalf("the rotated ring opens the old key's seal: %q %v", got, err)
	}
	if _, err := ring.Open(kid, []byte("entry-a"), sealed[:10]); !errors.Is(err, ErrOpen) {
		t.Fatalf("truncated: %v", err)
	}
}

func TestLoadNamesTheBadKey(t *testing.T) {
	good := base64.StdEncoding.EncodeToString(key(7))
	dir := t.TempDir()
	write := func(name, text string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Setenv("RC_GOOD", good+","+base64.StdEncoding.EncodeToString(key(8)))
	t.Setenv("RC_SHORT", base64.StdEncoding.EncodeToString([]byte("short")))
	t.Setenv("RC_JUNK", good+",not*base64")
	for _, c := range []struct {
		env, file, want string
	}{
		{env: "RC_UNSET", want: "encryption.key_env: $RC_UNSET is not set"},
		{env: "RC_SHORT", want: "encryption.key_env: $RC_SHORT: key 1 is 5 bytes, want 32"},
		{env: "RC_JUNK", want: "encryption.key_env: $RC_JUNK: key 2 is not base64"},
		{file: write("open", good+"\n", 0o644), want: "readable by others"},
		{file: write("bad", "# keys\n"+good+"\nAAAA\n", 0o600), want: "key 2 is 3 bytes"},
		{file: filepath.Join(dir, "missing"), want: "encryption.key_file"},
	} {
		if _, err := Load(c.env, c.file); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Load(%q, %q): %v, want %q", c.env, c.file, err, c.want)
		}
	}
	ring, err := Load("RC_GOOD", write("keys", "# a comment\n"+base64.StdEncoding.EncodeToString(key(9))+"\n", 0o600))
	if err != nil || len(ring.keys) != 3 {
		t.Fatalf("env and file: %v, %d keys", err, len(ring.keys))
	}
	if r, err := Load("", ""); r != nil || err != nil || r.Sealing() {
		t.Fatalf("no keys: %v %v", r, err)
	}
}

// BenchmarkOpen is what a sealed memory entry would cost each hit: opening
// a 1 KiB body and its headers (about 1.4 KiB), to set beside BenchmarkHit.
func BenchmarkOpen(b *testing.B) {
	r, _ := New(key(1))
	kid, sealed := r.Seal([]byte("entry"), bytes.Repeat([]byte("x"), 1400))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Open(kid, []byte("entry"), sealed); err != nil {
			b.Fatal(err)
		}
	}
}
