package memory

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/internal/seal"
	"github.com/reqcache/reqcache/stores"
	"github.com/reqcache/reqcache/stores/storetest"
)

func snapshotStore(t testing.TB, path string, interval time.Duration) (*Store, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.WarnLevel)
	s, err := New(config.Memory{MaxSizeMB: 16, Shards: 8, Snapshot: path, SnapshotInterval: config.Duration(interval)}, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	return s, logs
}

func TestSnapshotSurvivesARestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cache.snapshot")
	a, _ := snapshotStore(t, path, 0)
	kept := storetest.NewEntry("kept")
	gone := storetest.NewEntry("discarded")
	gone.DiscardAt = time.Now().Add(-time.Minute)
	expired := storetest.NewEntry("expired")
	expired.ExpiresAt = time.Now().Add(-time.Minute)
	expired.Header.Del("ETag")
	expired.Header.Del("Last-Modified")
	revalidatable := storetest.NewEntry("expired-with-etag")
	revalidatable.ExpiresAt = time.Now().Add(-time.Minute)
	revalidatable.Header.Set("ETag", `"v1"`)
	for _, e := range []*stores.Entry{kept, gone, expired, revalidatable} {
		if err := a.Set(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	a.SetAlias(ctx, "reqcache:credential-key", "00ff")
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no snapshot written: %v", err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("snapshot mode %v, want 0600 (it holds the credential key)", info.Mode().Perm())
	}

	b, logs := snapshotStore(t, path, 0)
	defer b.Close()
	got, err := b.Get(ctx, "kept")
	if err != nil || string(got.Body) != string(kept.Body) {
		t.Fatalf("after a restart: %v, %v", got, err)
	}
	if _, err := b.Get(ctx, "discarded"); err != stores.ErrNotFound {
		t.Fatalf("an entry past its DiscardAt was loaded: %v", err)
	}
	if _, err := b.Get(ctx, "expired"); err != nil {
		t.Fatalf("an expired entry without a validator (stale-if-error's, and listed) was not loaded: %v", err)
	}
	if _, err := b.Get(ctx, "expired-with-etag"); err != nil {
		t.Fatalf("an expired entry with an ETag (worth a 304) was not loaded: %v", err)
	}
	if v, err := b.GetAlias(ctx, "reqcache:credential-key"); err != nil || v != "00ff" {
		t.Fatalf("alias after a restart: %q, %v", v, err)
	}
	if logs.Len() != 0 {
		t.Fatalf("warnings loading a good snapshot: %v", logs.All())
	}
}

func TestBadSnapshotIsAnEmptyCacheAndOneWarning(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.snapshot")
	a, _ := snapshotStore(t, good, 0)
	for i := 0; i < 20; i++ {
		a.Set(ctx, storetest.NewEntry(fmt.Sprintf("k%d", i)))
	}
	a.Close()
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), data...)
	flipped[len(flipped)/2] ^= 0x40
	wrongVersion := append([]byte(nil), data...)
	wrongVersion[len(snapshotMagic)+3] = 9
	for _, tc := range []struct {
		name     string
		content  []byte
		warnings int
	}{
		{"truncated", data[:len(data)*2/3], 1},
		{"bit-flipped", flipped, 1},
		{"empty", []byte{}, 1},
		{"wrong version", wrongVersion, 1},
		{"not a snapshot", []byte("{\"v\":1}\n"), 1},
		{"missing", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			if tc.content != nil {
				os.WriteFile(path, tc.content, 0o600)
			}
			s, logs := snapshotStore(t, path, 0)
			if n, _ := s.Len(ctx); n != 0 {
				t.Fatalf("%d entries loaded from a bad snapshot", n)
			}
			if logs.Len() != tc.warnings {
				t.Fatalf("%d warnings, want %d: %v", logs.Len(), tc.warnings, logs.All())
			}
			// The store works, and writes a good snapshot once it changes.
			s.Set(ctx, storetest.NewEntry("new"))
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if tc.content == nil {
				return
			}
			// The refused file was set aside byte for byte, never
			// written over (issue 41, finding 1), and said so.
			if kept, err := os.ReadFile(path + ".refused"); err != nil || !bytes.Equal(kept, tc.content) {
				t.Fatalf("the refused snapshot was not set aside as it was: %v", err)
			}
			if why := s.SnapshotRefused(); why == nil || !strings.Contains(why.Error(), "set aside as "+path+".refused") {
				t.Fatalf("SnapshotRefused = %v", why)
			}
			again, _ := snapshotStore(t, path, 0)
			defer again.Close()
			if _, err := again.Get(ctx, "new"); err != nil {
				t.Fatalf("no new snapshot in its place: %v", err)
			}
		})
	}
}

func TestSnapshotWrittenPeriodicallyWhileServing(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "periodic.snapshot")
	s, _ := snapshotStore(t, path, 20*time.Millisecond)
	defer s.Close()
	s.Set(ctx, storetest.NewEntry("early"))
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no periodic snapshot within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Reads go on while it writes; a second store loads what was written.
	for i := 0; i < 100; i++ {
		s.Get(ctx, "early")
	}
	other, _ := snapshotStore(t, path, 0)
	defer other.Close()
	if _, err := other.Get(ctx, "early"); err != nil {
		t.Fatalf("the periodic snapshot lacks the entry: %v", err)
	}
}

const childEnv = "REQCACHE_SNAPSHOT_CHILD"

// TestSnapshotChildProcess is a child of TestTwoProcessesWriteOneSnapshot.
func TestSnapshotChildProcess(t *testing.T) {
	path := os.Getenv(childEnv)
	if path == "" {
		t.Skip("runs as a child process only")
	}
	for i := 0; i < 20; i++ {
		s, err := New(config.Memory{MaxSizeMB: 16, Shards: 8, Snapshot: path}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j < 50; j++ {
			s.Set(context.Background(), storetest.NewEntry(fmt.Sprintf("pid%d-%d", os.Getpid(), j)))
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTwoProcessesWriteOneSnapshot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.snapshot")
	var cmds []*exec.Cmd
	for i := 0; i < 2; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSnapshotChildProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), childEnv+"="+path)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child: %v", err)
		}
	}
	s, logs := snapshotStore(t, path, 0)
	defer s.Close()
	if n, _ := s.Len(context.Background()); n < 50 || logs.Len() != 0 {
		t.Fatalf("after two writers: %d entries, warnings %v", n, logs.All())
	}
	if matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp-*")); len(matches) != 0 {
		t.Fatalf("temporary files left: %v", matches)
	}
}

// BenchmarkSnapshot writes and loads 100,000 entries of 1 KiB: the time of
// each and the file's size beside the data's.
func BenchmarkSnapshot(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "bench.snapshot")
	s, err := New(config.Memory{MaxSizeMB: 256, Shards: 256, Snapshot: path}, nil)
	if err != nil {
		b.Fatal(err)
	}
	live := 0
	for i := 0; i < 100_000; i++ {
		e := storetest.NewEntry(fmt.Sprintf("key-%06d", i))
		e.Body = make([]byte, 1024)
		live += len(e.Body)
		s.Set(ctx, e)
	}
	b.Run("write", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := s.writeSnapshot(path); err != nil {
				b.Fatal(err)
			}
		}
		info, _ := os.Stat(path)
		b.ReportMetric(float64(info.Size())/float64(live), "file/bodies")
	})
	s.Close()
	b.Run("load", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			l, err := New(config.Memory{MaxSizeMB: 256, Shards: 256, Snapshot: path}, nil)
			if err != nil {
				b.Fatal(err)
			}
			if n, _ := l.Len(ctx); n != 100_000 {
				b.Fatalf("loaded %d", n)
			}
			l.snapshot = "" // do not write it back
			l.Close()
		}
	})
}

// A snapshot another user could have written is not loaded (issue 27,
// finding 14): in a shared directory anyone could otherwise plant entries,
// and the credential key, for this process to use.
func TestSnapshotWritableByOthersIsRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cache.snapshot")
	a, _ := snapshotStore(t, path, 0)
	if err := a.Set(ctx, storetest.NewEntry("planted")); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, logs := snapshotStore(t, path, 0)
	if n, _ := b.Len(ctx); n != 0 {
		t.Fatalf("%d entries loaded from a world-writable snapshot", n)
	}
	if logs.FilterMessageSnippet("not loaded").Len() != 1 || !strings.Contains(fmt.Sprint(logs.All()[0].ContextMap()), "writable by group or others") ||
		!strings.Contains(fmt.Sprint(logs.All()[0].ContextMap()), "chmod 600 "+path) {
		t.Fatalf("no warning naming the problem and the fix: %v", logs.All())
	}
	// The operator's file is kept as it was, whatever this process
	// stores (issue 41, finding 1).
	if err := b.Set(ctx, storetest.NewEntry("later")); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(path)
	if fi, _ := os.Stat(path); err != nil || !bytes.Equal(before, after) || fi.Mode().Perm() != 0o666 {
		t.Fatalf("the refused snapshot was written over (%v)", err)
	}
	if why := b.SnapshotRefused(); why == nil || !strings.Contains(why.Error(), "kept as it is") || !strings.Contains(why.Error(), "chmod 600 "+path) {
		t.Fatalf("SnapshotRefused = %v", why)
	}
}

// A snapshot that cannot be written fails when the store opens (issue 41,
// finding 2), naming the setting; a missing directory is created.
func TestSnapshotPathCheckedWhenOpened(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{"a directory": dir, "under a plain file": filepath.Join(plain, "cache.snapshot")} {
		_, err := New(config.Memory{MaxSizeMB: 4, Shards: 4, Snapshot: path}, nil)
		if err == nil || !strings.Contains(err.Error(), "memory.snapshot") || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: New = %v, want an error naming memory.snapshot and %s", name, err, path)
		}
	}
	if os.Getuid() != 0 { // root writes anywhere
		ro := filepath.Join(dir, "ro")
		os.Mkdir(ro, 0o500)
		if _, err := New(config.Memory{MaxSizeMB: 4, Shards: 4, Snapshot: filepath.Join(ro, "cache.snapshot")}, nil); err == nil || !strings.Contains(err.Error(), "memory.snapshot") {
			t.Errorf("a directory this user cannot write: New = %v", err)
		}
	}
	missing := filepath.Join(dir, "new", "dir", "cache.snapshot")
	s, err := New(config.Memory{MaxSizeMB: 4, Shards: 4, Snapshot: missing}, nil)
	if err != nil {
		t.Fatalf("a missing directory: %v", err)
	}
	s.Set(context.Background(), storetest.NewEntry("k"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Dir(missing)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("the directory made for the snapshot: %v %v", fi, err)
	}
	if _, err := os.Stat(missing); err != nil {
		t.Fatal(err)
	}
}

// "~/" in memory.snapshot is the user's home directory.
func TestSnapshotPathExpandsHome(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	s, err := New(config.Memory{MaxSizeMB: 4, Shards: 4, Snapshot: "~/cache.snapshot"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set(context.Background(), storetest.NewEntry("kept")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(home, "cache.snapshot")); err != nil {
		t.Fatalf("the snapshot is not in the home directory: %v", err)
	}
	if _, err := New(config.Memory{MaxSizeMB: 4, Shards: 4, Snapshot: "~root/cache.snapshot"}, nil); err == nil || !strings.Contains(err.Error(), "only ~/") {
		t.Fatalf("~user/ accepted: %v", err)
	}
}

// The file checked is the file read (issue 37, finding 5): a snapshot
// path that is a symlink, pointed at a file others could write between
// the check and the read, loads the file that was checked, never the
// planted one. A symlink to an acceptable file is followed.
func TestSnapshotCheckedByTheFileRead(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	good, planted := filepath.Join(dir, "good.snapshot"), filepath.Join(dir, "planted.snapshot")
	for name, key := range map[string]string{good: "good", planted: "planted"} {
		a, _ := snapshotStore(t, name, 0)
		if err := a.Set(ctx, storetest.NewEntry(key)); err != nil {
			t.Fatal(err)
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(planted, 0o666); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "cache.snapshot")
	if err := os.Symlink(good, link); err != nil {
		t.Fatal(err)
	}
	swapped := false
	afterSnapshotCheck = func() {
		swapped = true
		tmp := link + ".tmp"
		if err := os.Symlink(planted, tmp); err != nil {
			t.Error(err)
		}
		if err := os.Rename(tmp, link); err != nil {
			t.Error(err)
		}
	}
	defer func() { afterSnapshotCheck = func() {} }()
	b, logs := snapshotStore(t, link, 0)
	defer b.Close()
	if !swapped {
		t.Fatal("the path was never swapped: the test tests nothing")
	}
	if _, err := b.Get(ctx, "planted"); err == nil {
		t.Fatal("the planted snapshot, writable by others, was loaded")
	}
	if _, err := b.Get(ctx, "good"); err != nil {
		t.Fatalf("the checked snapshot (through the symlink) was not loaded: %v; %v", err, logs.All())
	}
}

// With [encryption] the snapshot is sealed: the file holds no body and no
// credential key in the clear; the same keys load it; another key, no key,
// or a record moved or altered refuse it (set aside), as does a snapshot
// in the clear once sealing is on.
func TestSealedSnapshot(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ringOf := func(b byte) *seal.Ring {
		r, err := seal.New(bytes.Repeat([]byte{b}, seal.KeySize))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	open := func(path string, r *seal.Ring) *Store {
		t.Helper()
		s, err := New(config.Memory{MaxSizeMB: 16, Shards: 8, Snapshot: path}, nil, WithSeal(r))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	write := func(path string, r *seal.Ring) {
		t.Helper()
		s := open(path, r)
		e := storetest.NewEntry("kept")
		e.Body = []byte("the private body")
		if err := s.Set(ctx, e); err != nil {
			t.Fatal(err)
		}
		s.SetAlias(ctx, "reqcache:credential-key", "c0ffee-credential-key")
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "sealed.snapshot")
	write(path, ringOf(1))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"the private body", "c0ffee-credential-key", "max-age=3600"} {
		if bytes.Contains(data, []byte(secret)) {
			t.Fatalf("the sealed snapshot holds %q in the clear", secret)
		}
	}
	s := open(path, ringOf(1))
	if got, err := s.Get(ctx, "kept"); err != nil || string(got.Body) != "the private body" || s.SnapshotRefused() != nil {
		t.Fatalf("the same key: %v %v", err, s.SnapshotRefused())
	}
	s.Close()

	for _, tc := range []struct {
		name string
		ring *seal.Ring
		want string
	}{
		{"another key", ringOf(2), "which this process does not hold"},
		{"no key", nil, "no [encryption] key is set"},
	} {
		p := filepath.Join(dir, tc.name+".snapshot")
		os.WriteFile(p, data, 0o600)
		s := open(p, tc.ring)
		if _, err := s.Get(ctx, "kept"); err == nil || s.SnapshotRefused() == nil || !strings.Contains(s.SnapshotRefused().Error(), tc.want) {
			t.Fatalf("%s: loaded (%v), refused %v", tc.name, err, s.SnapshotRefused())
		}
		s.Close()
	}
	plain := filepath.Join(dir, "plain.snapshot")
	write(plain, nil)
	s = open(plain, ringOf(1))
	if s.SnapshotRefused() == nil || !strings.Contains(s.SnapshotRefused().Error(), "in the clear") {
		t.Fatalf("a snapshot in the clear under [encryption]: %v", s.SnapshotRefused())
	}
	s.Close()
	// A record altered (its CRC fixed up, as an attacker would) does not open.
	altered := append([]byte(nil), data...)
	i := bytes.Index(altered, []byte("kept"))
	altered[i+len("kept")+3] ^= 1
	binary.BigEndian.PutUint32(altered[len(altered)-4:], crc32.Checksum(altered[:len(altered)-4], castagnoli))
	p := filepath.Join(dir, "altered.snapshot")
	os.WriteFile(p, altered, 0o600)
	s = open(p, ringOf(1))
	if s.SnapshotRefused() == nil || !strings.Contains(s.SnapshotRefused().Error(), "does not open") {
		t.Fatalf("an altered record: %v", s.SnapshotRefused())
	}
	s.Close()
}
