// Package otel reports what a reqcache session does to OpenTelemetry:
// cache attributes on the request's span, and metrics. It is a module of
// its own, so that reqcache's users who do not use OpenTelemetry never
// download it.
//
//	o, err := reqotel.New() // the global MeterProvider, or WithMeterProvider
//	reqcache.Install(reqcache.WithObserver(o))
//
// Spans: the attributes go on the span in the request's context, when one
// is recording. With otelhttp, put its transport in front of the cache
// (otelhttp.NewTransport(http.DefaultTransport) after Install, or around
// session.Client's transport): every request then has a span, and hits are
// annotated too. An otelhttp transport below the cache (as the session's
// upstream) makes spans for misses only, without cache attributes.
//
// Attributes: reqcache.outcome (hit, stale, revalidated, miss, bypass,
// gateway-timeout, error), reqcache.cache_status (the Cache-Status member),
// reqcache.from_cache, reqcache.ttl_seconds (seconds left before the
// response expires; negative when served stale; absent when it never does),
// reqcache.key (the first 12 characters of the cache key).
//
// Metrics: reqcache.requests{reqcache.outcome}, reqcache.request.duration
// (s), reqcache.cache.bytes_served (By), reqcache.store.operation.duration
// (s){reqcache.store.op}, reqcache.store.errors{reqcache.store.op}.
package otel

import (
	"context"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/reqcache/reqcache/session"
)

const scope = "github.com/reqcache/reqcache/contrib/otel"

// Observer is a session.Observer that reports to OpenTelemetry.
type Observer struct {
	requests    metric.Int64Counter
	durations   metric.Float64Histogram
	bytes       metric.Int64Counter
	storeOps    metric.Float64Histogram
	storeErrors metric.Int64Counter
}

// Option configures an Observer.
type Option func(*options)

type options struct{ mp metric.MeterProvider }

// WithMeterProvider records metrics with mp instead of the global
// MeterProvider.
func WithMeterProvider(mp metric.MeterProvider) Option { return func(o *options) { o.mp = mp } }

// New returns an Observer; pass it to reqcache.WithObserver or
// session.WithObserver.
func New(opts ...Option) (*Observer, error) {
	o := options{mp: otel.GetMeterProvider()}
	for _, opt := range opts {
		opt(&o)
	}
	m := o.mp.Meter(scope)
	var ob Observer
	var err error
	if ob.requests, err = m.Int64Counter("reqcache.requests", metric.WithDescription("Requests through the cache, by outcome.")); err != nil {
		return nil, err
	}
	if ob.durations, err = m.Float64Histogram("reqcache.request.duration", metric.WithUnit("s"), metric.WithDescription("Time until the response header, by outcome.")); err != nil {
		return nil, err
	}
	if ob.bytes, err = m.Int64Counter("reqcache.cache.bytes_served", metric.WithUnit("By"), metric.WithDescription("Body bytes answered from the cache.")); err != nil {
		return nil, err
	}
	if ob.storeOps, err = m.Float64Histogram("reqcache.store.operation.duration", metric.WithUnit("s"), metric.WithDescription("Store operations and their latency, by operation.")); err != nil {
		return nil, err
	}
	if ob.storeErrors, err = m.Int64Counter("reqcache.store.errors", metric.WithDescription("Store operations that failed, by operation.")); err != nil {
		return nil, err
	}
	return &ob, nil
}

// ObserveRequest implements session.Observer: the span's attributes and the
// request metrics.
func (o *Observer) ObserveRequest(ctx context.Context, e session.RequestEvent) {
	outcome := attribute.String("reqcache.outcome", e.Outcome)
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		attrs := []attribute.KeyValue{outcome,
			attribute.String("reqcache.cache_status", e.CacheStatus),
			attribute.Bool("reqcache.from_cache", e.Info.FromCache),
		}
		if k := e.Info.Key; k != "" {
			attrs = append(attrs, attribute.String("reqcache.key", k[:min(12, len(k))]))
		}
		if !e.Info.Expires.IsZero() {
			attrs = append(attrs, attribute.Int64("reqcache.ttl_seconds", int64(time.Until(e.Info.Expires).Seconds())))
		}
		span.SetAttributes(attrs...)
	}
	set := metric.WithAttributes(outcome)
	o.requests.Add(ctx, 1, set)
	o.durations.Record(ctx, e.Duration.Seconds(), set)
	if e.Bytes > 0 {
		o.bytes.Add(ctx, e.Bytes)
	}
}

// ObserveStore implements session.Observer: the store metrics.
func (o *Observer) ObserveStore(ctx context.Context, e session.StoreEvent) {
	op := metric.WithAttributes(attribute.String("reqcache.store.op", e.Op))
	o.storeOps.Record(ctx, e.Duration.Seconds(), op)
	if e.Err != nil {
		o.storeErrors.Add(ctx, 1, op)
	}
}
