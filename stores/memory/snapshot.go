package memory

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/allegro/bigcache/v3"
	"go.uber.org/zap"

	"github.com/reqcache/reqcache/internal/seal"
)

// A snapshot keeps the memory store across restarts, for short-lived
// programs ([memory] snapshot). The file is
//
//	"RQCSNAP\n", uint32 format version,
//	records: kind ('e' entry, 'a' alias, 'u' a record of the index of resources),
//	         uvarint length, key, uvarint length, value,
//	trailer: 'z', uint64 record count, uint32 CRC-32C of every byte before it
//
// An entry's value is its stored encoding (the codec's own model version
// inside), so writing copies bytes and loading decodes only to skip
// entries past their DiscardAt. Expired ones are loaded, as the running
// store keeps them: stale-if-error may answer with them, a 304 revive one
// with a validator, and `reqcache ls` shows them (it showed nothing once
// the quick start's entry expired). It is written to a temporary file in the
// same directory and renamed into place: a reader sees the old file or the
// new one, never half of one; of two processes writing one path, the last
// rename wins. It holds what the store holds: credentials redacted, and the
// credential key (an alias) that separated entries need to match after a
// restart — hence mode 0600.

//
// Sealed ([encryption], WithSeal), the format version is 3, the header
// goes on with the sealing key's id (uvarint length, id), and every
// record's value is sealed with its kind and key as additional data.

const (
	snapshotMagic   = "RQCSNAP\n"
	snapshotVersion = 2 // 2: entries of model version 2, index records
	sealedVersion   = 3 // 2 with the values sealed
)

// recordAD is a sealed record's additional data: its kind and key, so
// that a value moved to another record does not open.
func recordAD(kind byte, key []byte) []byte { return append([]byte{kind}, key...) }

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errSnapshot marks a snapshot that cannot be used.
var errSnapshot = errors.New("unusable snapshot")

// untrusted is a snapshot refused for who could have written it, with the
// operator's fix (a format with the path for its %s).
type untrusted struct {
	error
	fix string
}

func (u untrusted) Unwrap() error { return u.error }

// loadSnapshot fills the store from path. A missing file is an empty
// cache, silently. A file it refuses is never written over, and the store
// starts empty with one warning naming the reason and the fix: a file
// another user owns or could have written is kept as it is (this store
// then writes no snapshot); one that cannot be read as a snapshot
// (corrupt, another format version) is set aside beside itself, renamed
// byte for byte to PATH.refused, and a new snapshot is written at PATH.
// SnapshotRefused says which, for a command to tell its user.
//
// The file checked is the file read: it is opened once, and its owner,
// mode and kind are those of the open handle (fstat), so that a path
// swapped between a check and the read (a symlink pointed elsewhere)
// cannot bring in a file the check never saw. A symlinked path is
// followed: the file it leads to is the one checked and read (the save
// then renames a regular file over the link).
func (s *Store) loadSnapshot(path string, now time.Time) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	var data []byte
	if err == nil {
		defer f.Close()
		data, err = readChecked(f)
	}
	if err == nil {
		err = s.applySnapshot(data, now)
	}
	if err == nil {
		return
	}
	_ = s.Clear(context.Background())
	var u untrusted
	aside := ""
	if !errors.As(err, &u) {
		aside = setAside(path)
	}
	if aside == "" {
		fix := "move it away to start a new one"
		if u.fix != "" {
			fix = fmt.Sprintf(u.fix, path)
		}
		s.snapshotKept = true
		s.snapshotRefused = fmt.Errorf("reqcache: memory snapshot %s not loaded (%v): kept as it is, and not written by this process; fix: %s", path, err, fix)
		s.log.Warn("reqcache: memory snapshot not loaded, starting empty; the file is kept as it is and not written by this process",
			zap.String("path", path), zap.Error(err), zap.String("fix", fix))
		return
	}
	s.snapshotRefused = fmt.Errorf("reqcache: memory snapshot %s not loaded (%v): set aside as %s, a new one is written in its place", path, err, aside)
	s.log.Warn("reqcache: memory snapshot not loaded, starting empty; the file is set aside and a new one written in its place",
		zap.String("path", path), zap.String("set_aside_as", aside), zap.Error(err))
}

// setAside renames a snapshot that could not be read to PATH.refused
// (PATH.refused-N when that is taken): the bytes stay as they were for the
// operator, and PATH is free for a new snapshot. "" when it cannot be.
func setAside(path string) string {
	for i := 0; i < 100; i++ {
		aside := path + ".refused"
		if i > 0 {
			aside = fmt.Sprintf("%s.refused-%d", path, i)
		}
		if _, err := os.Lstat(aside); !errors.Is(err, os.ErrNotExist) {
			continue
		}
		if os.Rename(path, aside) == nil {
			return aside
		}
		return ""
	}
	return ""
}

// SnapshotRefused is why the snapshot at [memory] snapshot was not loaded
// and what became of it (nil when it was, or when there was none): a
// command tells its user, as the log tells a program's operator.
func (s *Store) SnapshotRefused() error { return s.snapshotRefused }

// checkSnapshotPath makes sure a snapshot can be written at path, so that
// a wrong [memory] snapshot fails when the store opens, not at Close
// (which programs defer and ignore): a missing directory is created (mode
// 0700), a directory given as the file or a directory this user cannot
// write is an error naming the setting.
func checkSnapshotPath(path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("reqcache: memory.snapshot %q is a directory: name a file in it (for example %q)", path, filepath.Join(path, "reqcache.snapshot"))
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("reqcache: memory.snapshot %q: its directory cannot be created: %w", path, err)
	}
	probe, err := os.CreateTemp(dir, "."+filepath.Base(path)+".probe-*")
	if err != nil {
		return fmt.Errorf("reqcache: memory.snapshot %q: no snapshot can be written in %s: %w (set memory.snapshot to a file in a directory this user can write)", path, dir, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}

// afterSnapshotCheck runs between the check of an opened snapshot and its
// read (a test seam: a test swaps the path there).
var afterSnapshotCheck = func() {}

// readChecked reads an opened snapshot whole once its handle passes the
// owner and mode check: a regular file no other user could have written.
func readChecked(f *os.File) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, untrusted{fmt.Errorf("%w: not a regular file (%v)", errSnapshot, fi.Mode().Type()), "set memory.snapshot to a regular file (%s is left as it is)"}
	}
	if err := checkOwner(fi); err != nil {
		return nil, err
	}
	afterSnapshotCheck()
	return io.ReadAll(f)
}

// applySnapshot checks data whole, then stores its records.
func (s *Store) applySnapshot(data []byte, now time.Time) error {
	const trailer = 1 + 8 + 4
	head := len(snapshotMagic) + 4
	if len(data) < head+trailer || string(data[:len(snapshotMagic)]) != snapshotMagic {
		return fmt.Errorf("%w: not a snapshot, or truncated", errSnapshot)
	}
	v := binary.BigEndian.Uint32(data[len(snapshotMagic):])
	switch {
	case v == snapshotVersion && s.ring != nil:
		return fmt.Errorf("%w: in the clear, and [encryption] is on", errSnapshot)
	case v == sealedVersion && s.ring == nil:
		return fmt.Errorf("%w: sealed, and no [encryption] key is set", errSnapshot)
	case v != snapshotVersion && v != sealedVersion:
		return fmt.Errorf("%w: format version %d (this build reads %d and %d)", errSnapshot, v, snapshotVersion, sealedVersion)
	}
	t := data[len(data)-trailer:]
	if t[0] != 'z' {
		return fmt.Errorf("%w: truncated (no trailer)", errSnapshot)
	}
	count := binary.BigEndian.Uint64(t[1:9])
	if sum := crc32.Checksum(data[:len(data)-4], castagnoli); sum != binary.BigEndian.Uint32(t[9:]) {
		return fmt.Errorf("%w: checksum mismatch", errSnapshot)
	}
	c, err := s.open(context.Background())
	if err != nil {
		return err
	}
	body := data[head : len(data)-trailer]
	var kid []byte
	if v == sealedVersion {
		var ok bool
		if kid, body, ok = cutField(body); !ok {
			return fmt.Errorf("%w: a malformed header", errSnapshot)
		}
	}
	var n uint64
	for len(body) > 0 {
		kind := body[0]
		key, rest, ok := cutField(body[1:])
		if !ok {
			return fmt.Errorf("%w: a malformed record", errSnapshot)
		}
		value, rest, ok := cutField(rest)
		if !ok {
			return fmt.Errorf("%w: a malformed record", errSnapshot)
		}
		body = rest
		n++
		if kid != nil {
			plain, err := s.ring.Open(string(kid), recordAD(kind, key), value)
			if errors.Is(err, seal.ErrUnknownKey) {
				return fmt.Errorf("%w: sealed with key %s, which this process does not hold", errSnapshot, kid)
			}
			if err != nil {
				return fmt.Errorf("%w: record %q does not open", errSnapshot, key)
			}
			value = plain
		}
		switch kind {
		case 'e':
			e, err := decodeShared(value)
			if err != nil {
				return fmt.Errorf("%w: entry %q: %v", errSnapshot, key, err)
			}
			if e.Discarded(now) {
				continue
			}
			_ = s.setEntry(c, string(key), value) // a full store evicts, as always
		case 'a':
			_ = c.aliases.Set(string(key), value)
		case 'u':
			// A record of the index of resources, as it was.
			_ = c.uris.records.Set(string(key), value)
		default:
			return fmt.Errorf("%w: unknown record kind %q", errSnapshot, kind)
		}
	}
	if n != count {
		return fmt.Errorf("%w: %d records, the trailer says %d", errSnapshot, n, count)
	}
	return nil
}

func cutField(b []byte) (field, rest []byte, ok bool) {
	l, w := binary.Uvarint(b)
	if w <= 0 || l > uint64(len(b)-w) {
		return nil, nil, false
	}
	return b[w : w+int(l)], b[w+int(l):], true
}

// writeSnapshot writes the store to path, atomically. Entries are copied
// one at a time (bigcache locks one shard for each), so requests go on
// being served while it writes.
func (s *Store) writeSnapshot(path string) error {
	c, err := s.open(context.Background())
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*") // mode 0600
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	crc := crc32.New(castagnoli)
	w := bufio.NewWriterSize(io.MultiWriter(tmp, crc), 256<<10)
	var hdr [len(snapshotMagic) + 4]byte
	copy(hdr[:], snapshotMagic)
	version := uint32(snapshotVersion)
	if s.ring != nil {
		version = sealedVersion
	}
	binary.BigEndian.PutUint32(hdr[len(snapshotMagic):], version)
	w.Write(hdr[:])
	var lenBuf [binary.MaxVarintLen64]byte
	if s.ring != nil {
		kid := s.ring.KeyID()
		w.Write(lenBuf[:binary.PutUvarint(lenBuf[:], uint64(len(kid)))])
		w.WriteString(kid)
	}
	var count uint64
	record := func(kind byte, key string, value []byte) {
		if s.ring != nil {
			_, value = s.ring.Seal(recordAD(kind, []byte(key)), value)
		}
		w.WriteByte(kind)
		w.Write(lenBuf[:binary.PutUvarint(lenBuf[:], uint64(len(key)))])
		w.WriteString(key)
		w.Write(lenBuf[:binary.PutUvarint(lenBuf[:], uint64(len(value)))])
		w.Write(value)
		count++
	}
	for _, src := range []struct {
		kind byte
		it   *bigcache.EntryInfoIterator
	}{{'e', c.entries.Iterator()}, {'a', c.aliases.Iterator()}, {'u', c.uris.records.Iterator()}} {
		for src.it.SetNext() {
			info, err := src.it.Value()
			if err != nil {
				continue // evicted while iterating
			}
			record(src.kind, info.Key(), info.Value())
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	var t [1 + 8 + 4]byte
	t[0] = 'z'
	binary.BigEndian.PutUint64(t[1:9], count)
	crc.Write(t[:9])
	binary.BigEndian.PutUint32(t[9:], crc.Sum32())
	if _, err := tmp.Write(t[:]); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	ok = true
	return nil
}

// snapshotEvery writes the snapshot every interval while something
// changed, until stop is closed.
func (s *Store) snapshotEvery(path string, interval time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			s.saveSnapshot(path)
		}
	}
}

// saveSnapshot writes the snapshot when the store changed since the last
// one, and logs a failure.
func (s *Store) saveSnapshot(path string) error {
	changes := s.changes.Load()
	if changes == s.saved.Load() || s.snapshotKept {
		return nil
	}
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	err := s.writeSnapshot(path)
	if err != nil {
		s.log.Warn("reqcache: memory snapshot not written", zap.String("path", path), zap.Error(err))
		return fmt.Errorf("reqcache: memory snapshot %s: %w", path, err)
	}
	s.saved.Store(changes)
	return nil
}

// expandHome expands a leading "~/" to the user's home directory (examples
// and the command suggest "~/.cache/..."); "~user/" is refused.
func expandHome(path string) (string, error) {
	if path == "~" || strings.HasPrefix(path, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("reqcache: memory.snapshot %q: %w", path, err)
		}
		return filepath.Join(home, path[1:]), nil
	}
	if strings.HasPrefix(path, "~") {
		return "", fmt.Errorf("reqcache: memory.snapshot %q: only ~/ (the current user's home) is expanded", path)
	}
	return path, nil
}
