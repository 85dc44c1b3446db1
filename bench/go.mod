module github.com/reqcache/reqcache/bench

go 1.25.3

require (
	github.com/bartventer/httpcache v0.14.0
	github.com/gregjones/httpcache v0.0.0-20190611155906-901d90724c79
	github.com/reqcache/reqcache v0.0.0
	github.com/sandrolain/httpcache v1.4.2
)

require (
	github.com/BurntSushi/toml v1.6.0 // indirect
	github.com/allegro/bigcache/v3 v3.2.0 // indirect
	go.uber.org/multierr v1.10.0 // indirect
	go.uber.org/zap v1.28.0 // indirect
)

replace github.com/reqcache/reqcache => ../
