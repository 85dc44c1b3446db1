module github.com/reqcache/reqcache

go 1.25.0

require (
	github.com/BurntSushi/toml v1.6.0 // indirect
	github.com/allegro/bigcache/v3 v3.2.0 // indirect
	go.mongodb.org/mongo-driver/v2 v2.10.0 // indirect
	go.uber.org/multierr v1.10.0 // indirect
	go.uber.org/zap v1.28.0 // indirect
	golang.org/x/sync v0.22.0 // indirect
)
