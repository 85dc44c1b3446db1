// Package clients holds tests that install reqcache and drive real client
// libraries (from the module proxy) against local origins, to show what
// Install caches for each. It is a module of its own so that users of
// reqcache never download these libraries.
package clients
