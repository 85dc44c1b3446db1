// Package backend opens the store a configuration names: the memory store,
// MongoDB, or the tiered pair. It is the one place that knows every
// backend, so that the root package and the reqcache command open stores
// the same way.
package backend

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/reqcache/reqcache/config"
	"github.com/reqcache/reqcache/internal/seal"
	"github.com/reqcache/reqcache/stores"
	"github.com/reqcache/reqcache/stores/memory"
	"github.com/reqcache/reqcache/stores/mongo"
	"github.com/reqcache/reqcache/stores/tiered"
)

// Open opens the store cfg.Backend names. Connecting to MongoDB is bounded
// by mongo.connect_timeout and ctx.
func Open(ctx context.Context, cfg *config.Config, logger *zap.Logger) (stores.Store, error) {
	if logger == nil {
		logger = zap.NewNop()
	}
	// Bad key material fails the open, naming the key, whatever the
	// backend: a key that does not load is never silently "no sealing".
	ring, err := seal.Load(cfg.Encryption.KeyEnv, cfg.Encryption.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("reqcache: %w", err)
	}
	switch cfg.Backend {
	case "", config.BackendMemory:
		return memory.New(cfg.Memory, logger, memory.WithSeal(ring))
	case config.BackendMongo:
		return mongo.New(ctx, cfg.Mongo, logger, mongo.WithMaxBodyBytes(cfg.MaxBodyBytes), mongo.WithSeal(ring))
	case config.BackendTiered:
		back, err := mongo.New(ctx, cfg.Mongo, logger, mongo.WithMaxBodyBytes(cfg.MaxBodyBytes), mongo.WithSeal(ring))
		if err != nil {
			return nil, err
		}
		front, err := memory.New(cfg.Memory, logger, memory.WithSeal(ring))
		if err != nil {
			back.Close()
			return nil, err
		}
		return tiered.New(front, back, cfg.Memory.MaxAge.Std(), logger, tiered.WithInvalidationPoll(cfg.Memory.InvalidationPoll.Std())), nil
	}
	return nil, fmt.Errorf("reqcache: unknown backend %q (want memory, mongo or tiered)", cfg.Backend)
}
