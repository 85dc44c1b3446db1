// Package mongotest gives tests a real MongoDB wire-protocol server:
// $REQCACHE_TEST_MONGO_URI when set (a real MongoDB), otherwise FerretDB v1
// (SQLite storage) built from tools/ferretdb and started on a free loopback
// port with a temporary data directory. When no server can be had, tests
// fail under CI=true and are skipped otherwise.
package mongotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// EnvURI names the variable that points the tests at a real MongoDB.
const EnvURI = "REQCACHE_TEST_MONGO_URI"

// Server is a FerretDB process started by the tests.
type Server struct {
	URI  string
	addr string
	dir  string
	cmd  *exec.Cmd
	mu   sync.Mutex
}

var (
	shared     *Server
	sharedErr  error
	sharedOnce sync.Once
)

// URI returns the URI of the server the test should use, starting the
// shared FerretDB on first use. It fails the test under CI=true, and skips
// it otherwise, when no server can be started.
func URI(t testing.TB) string {
	t.Helper()
	if uri := os.Getenv(EnvURI); uri != "" {
		return uri
	}
	sharedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "reqcache-ferretdb-")
		if err != nil {
			sharedErr = err
			return
		}
		shared, sharedErr = start(dir, "")
	})
	if sharedErr != nil {
		unavailable(t, sharedErr)
	}
	return shared.URI
}

// Main runs the tests of a package and stops the shared server afterwards.
// Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Stop()
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// Private starts a FerretDB only this test uses (so that it can be stopped
// and restarted), stopped when the test ends. With $REQCACHE_TEST_MONGO_URI
// set the test is skipped: a real MongoDB cannot be stopped from here.
func Private(t testing.TB) *Server {
	t.Helper()
	if os.Getenv(EnvURI) != "" {
		t.Skip("stopping the server needs the FerretDB the tests start; " + EnvURI + " is set")
	}
	s, err := start(t.TempDir(), "")
	if err != nil {
		unavailable(t, err)
	}
	t.Cleanup(s.Stop)
	return s
}

func unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("no MongoDB server for the tests: %v", err)
	}
	t.Skipf("no MongoDB server (set %s, or let the tests build FerretDB): %v", EnvURI, err)
}

// Name returns a database or collection name no other test uses.
func Name(t testing.TB) string {
	b := make([]byte, 4)
	rand.Read(b)
	n := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, t.Name())
	if len(n) > 30 {
		n = n[:30]
	}
	return n + "_" + hex.EncodeToString(b)
}

// Stop stops the server; its data directory stays for Restart.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
}

// Restart starts the server again on the same port and data directory.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	n, err := start(s.dir, s.addr)
	if err != nil {
		return err
	}
	s.cmd = n.cmd
	return nil
}

func start(dir, addr string) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	if addr == "" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		addr = l.Addr().String()
		l.Close()
	}
	cmd := exec.Command(bin, "-listen", addr, "-dir", filepath.Join(dir, "data"))
	dieWithParent(cmd)
	logf, err := os.Create(filepath.Join(dir, "ferretdb.log"))
	if err == nil {
		cmd.Stdout, cmd.Stderr = logf, logf
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{URI: "mongodb://" + addr + "/", addr: addr, dir: dir, cmd: cmd}
	if err := waitReady(s.URI, 30*time.Second); err != nil {
		s.Stop()
		log, _ := os.ReadFile(filepath.Join(dir, "ferretdb.log"))
		return nil, fmt.Errorf("FerretDB did not answer on %s: %v\n%s", addr, err, tail(log))
	}
	return s, nil
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

func waitReady(uri string, within time.Duration) error {
	deadline := time.Now().Add(within)
	c, err := mongo.Connect(options.Client().ApplyURI(uri).SetServerSelectionTimeout(time.Second))
	if err != nil {
		return err
	}
	defer c.Disconnect(context.Background())
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = c.Ping(ctx, nil)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Binary returns the FerretDB binary, building it (once per machine; a
// file lock keeps parallel test packages from building it together) when
// it is missing. $REQCACHE_FERRETDB names a prebuilt one.
func Binary() (string, error) {
	if p := os.Getenv("REQCACHE_FERRETDB"); p != "" {
		return p, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(root, ".cache", "bin", "ferretdb")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(bin+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil // built while we waited
	}
	tmp := bin + ".tmp"
	cmd := exec.Command("go", "build", "-o", tmp, ".")
	cmd.Dir = filepath.Join(root, "tools", "ferretdb")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building FerretDB: %v\n%s", err, tail(out))
	}
	return bin, os.Rename(tmp, bin)
}

func repoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot locate the repository")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..")), nil
}
