// Package seal seals stored responses at rest ([encryption]): AES-256-GCM
// (the standard library's), a fresh random nonce for every seal, and the
// entry's key as additional data, so that a sealed value copied under
// another key, altered, or sealed with a key this process does not hold
// never opens. A Ring holds the keys: the first seals, every one opens
// (rotation).
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// KeySize is the size of a key: 32 bytes (AES-256).
const KeySize = 32

// ErrUnknownKey is returned by Open for a value sealed with a key the ring
// does not hold (another fleet's, a key rotated out).
var ErrUnknownKey = errors.New("reqcache: sealed with a key this process does not hold")

// ErrOpen is returned by Open for a value that does not open with its key:
// altered, or moved under another entry's key.
var ErrOpen = errors.New("reqcache: sealed value does not open")

// Ring is a set of keys; the zero Ring seals nothing (Sealing reports
// false).
type Ring struct {
	keys []ringKey
}

type ringKey struct {
	id   string // the first 8 bytes of the key's SHA-256, in hex: names it in stored entries, reveals nothing
	aead cipher.AEAD
}

// Sealing reports whether the ring has a key to seal with.
func (r *Ring) Sealing() bool { return r != nil && len(r.keys) > 0 }

// KeyID names the key that seals.
func (r *Ring) KeyID() string {
	if !r.Sealing() {
		return ""
	}
	return r.keys[0].id
}

// New makes a ring from raw 32-byte keys, the first sealing.
func New(keys ...[]byte) (*Ring, error) {
	r := &Ring{}
	for i, k := range keys {
		if len(k) != KeySize {
			return nil, fmt.Errorf("key %d: %d bytes, want %d", i+1, len(k), KeySize)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("key %d: %v", i+1, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("key %d: %v", i+1, err)
		}
		sum := sha256.Sum256(k)
		r.keys = append(r.keys, ringKey{id: hex.EncodeToString(sum[:8]), aead: aead})
	}
	return r, nil
}

// Load makes the ring the [encryption] table names: base64 keys,
// comma-separated, in the environment variable keyEnv, then one a line in
// keyFile (which must not be readable by group or others). Neither set is
// a nil ring (no sealing). Errors name the setting and the key.
func Load(keyEnv, keyFile string) (*Ring, error) {
	var keys [][]byte
	if keyEnv != "" {
		v, ok := os.LookupEnv(keyEnv)
		if !ok || strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("encryption.key_env: $%s is not set", keyEnv)
		}
		ks, err := decodeKeys(strings.Split(v, ","))
		if err != nil {
			return nil, fmt.Errorf("encryption.key_env: $%s: %w", keyEnv, err)
		}
		keys = append(keys, ks...)
	}
	if keyFile != "" {
		fi, err := os.Stat(keyFile)
		if err != nil {
			return nil, fmt.Errorf("encryption.key_file: %w", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("encryption.key_file: %s is readable by others (mode %o): chmod 600 %s", keyFile, fi.Mode().Perm(), keyFile)
		}
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, fmt.Errorf("encryption.key_file: %w", err)
		}
		var lines []string
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				lines = append(lines, l)
			}
		}
		ks, err := decodeKeys(lines)
		if err != nil {
			return nil, fmt.Errorf("encryption.key_file: %s: %w", keyFile, err)
		}
		keys = append(keys, ks...)
	}
	if len(keys) == 0 {
		return nil, nil
	}
	return New(keys...)
}

// decodeKeys decodes base64 keys (standard or URL alphabet, padded or
// not), each 32 bytes.
func decodeKeys(texts []string) ([][]byte, error) {
	var keys [][]byte
	for i, t := range texts {
		t = strings.TrimSpace(t)
		var k []byte
		var err error
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if k, err = enc.DecodeString(t); err == nil {
				break
			}
		}
		if err != nil {
			return nil, fmt.Errorf("key %d is not base64", i+1)
		}
		if len(k) != KeySize {
			return nil, fmt.Errorf("key %d is %d bytes, want %d (openssl rand -base64 32)", i+1, len(k), KeySize)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no key")
	}
	return keys, nil
}

// Seal seals plaintext with the first key and ad (the entry's key) as
// additional data: the nonce, then the ciphertext and tag. kid names the
// key.
func (r *Ring) Seal(ad, plaintext []byte) (kid string, sealed []byte) {
	k := r.keys[0]
	out := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		panic("reqcache: no randomness for a nonce: " + err.Error()) // crypto/rand does not fail on supported systems
	}
	return k.id, k.aead.Seal(out, out, plaintext, ad)
}

// Open opens what Seal sealed with the key kid names and the same ad.
func (r *Ring) Open(kid string, ad, sealed []byte) ([]byte, error) {
	if r == nil {
		return nil, ErrUnknownKey
	}
	for _, k := range r.keys {
		if k.id != kid {
			continue
		}
		n := k.aead.NonceSize()
		if len(sealed) < n+k.aead.Overhead() {
			return nil, ErrOpen
		}
		out, err := k.aead.Open(nil, sealed[:n], sealed[n:], ad)
		if err != nil {
			return nil, ErrOpen
		}
		return out, nil
	}
	return nil, ErrUnknownKey
}
