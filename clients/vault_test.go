package clients_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	vault "github.com/hashicorp/vault/api"

	"github.com/reqcache/reqcache"
)

// vaultOrigin imitates Vault's KV v2 engine over TLS: every answer is
// "Cache-Control: no-store", as Vault sends; X-Vault-Token names the
// reader, and a token Vault does not know is a 403.
func vaultOrigin(t *testing.T) (srv *httptest.Server, reads *atomic.Int64) {
	var mu sync.Mutex
	password := "hunter2"
	reads = new(atomic.Int64)
	srv = newTLSOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "application/json")
		reader := map[string]string{"hvs.alice-token": "alice", "hvs.bob-token": "bob"}[r.Header.Get("X-Vault-Token")]
		if reader == "" || r.URL.Path != "/v1/secret/data/app" {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"errors":["permission denied"]}`)
			return
		}
		switch r.Method {
		case http.MethodPut, http.MethodPost:
			var in struct{ Data map[string]string }
			json.NewDecoder(r.Body).Decode(&in)
			password = in.Data["password"]
			io.WriteString(w, `{"data":{"version":2}}`)
		case http.MethodGet:
			reads.Add(1)
			json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"data": map[string]string{"password": password, "reader": reader}, "metadata": map[string]any{"version": 1}}})
		}
	})
	return srv, reads
}

// hashicorp/vault/api type-asserts its client's transport to
// *http.Transport (ConfigureTLS, SetMaxIdleConnections, which panicked on
// a wrapper): reqcache.Transport of it is one. Vault marks every answer
// no-store: nothing is stored, every read reaches Vault, and no token or
// secret is kept.
func TestVault(t *testing.T) {
	srv, reads := vaultOrigin(t)
	install(t, nil)
	sdkSecrets("hvs.alice-token", "hvs.bob-token")
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	client := func(token string) *vault.Client {
		cfg := vault.DefaultConfig()
		cfg.Address = srv.URL
		cfg.HttpClient.Transport = reqcache.Transport(cfg.HttpClient.Transport)
		if err := cfg.ConfigureTLS(&vault.TLSConfig{CACert: caFile}); err != nil {
			t.Fatalf("ConfigureTLS: %v", err)
		}
		c, err := vault.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.SetMaxIdleConnections(4)
		c.SetToken(token)
		return c
	}
	read := func(c *vault.Client) string {
		t.Helper()
		s, err := c.KVv2("secret").Get(context.Background(), "app")
		if err != nil {
			t.Fatalf("KVv2 Get: %v", err)
		}
		return s.Data["password"].(string) + " for " + s.Data["reader"].(string)
	}
	alice := client("hvs.alice-token")
	for range 3 {
		if got := read(alice); got != "hunter2 for alice" {
			t.Fatalf("read %q", got)
		}
	}
	if got := read(client("hvs.bob-token")); got != "hunter2 for bob" {
		t.Fatalf("another token read %q", got)
	}
	if _, err := alice.KVv2("secret").Put(context.Background(), "app", map[string]any{"password": "correct-horse"}); err != nil {
		t.Fatalf("KVv2 Put: %v", err)
	}
	if got := read(alice); got != "correct-horse for alice" {
		t.Fatalf("after a write, read %q", got)
	}
	wantRequests(t, reads, 5, "five reads of no-store answers")
	if n, _ := reqcache.Installed().Cache().Len(context.Background()); n != 0 {
		t.Fatalf("%d entries stored from Vault's no-store answers", n)
	}
	secretsStayOut(t, "hvs.alice-token", "hvs.bob-token", "hunter2")
}
