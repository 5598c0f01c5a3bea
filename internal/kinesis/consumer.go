package kinesis

import (
	"context"
	"fmt"
)

// Consumer reads every shard of a stream, each with its own Reader (so
// each within its own limits), a parent to its end before its children.
type Consumer struct {
	API    API
	Stream Stream
	// Start returns where to start reading a shard: after its checkpoint
	// (AfterSequence), AtTimestamp(since) or TrimHorizon(). Nil starts
	// every shard at TrimHorizon.
	Start func(Shard) Position
	// Finished reports whether a shard was read to its end in an earlier
	// run: it is not read again, and its children may start. Nil: none was.
	Finished func(shardID string) bool
	// Follow keeps reading for ever: a caught-up shard is polled again
	// (once per IdleInterval) and the children of a shard that ends are
	// read after it. Without Follow, every shard listed when Run starts is
	// read until it is caught up or ends, its children listed then
	// included; shards created since are left for the next run.
	Follow bool
	// Options tune the Readers and ListShards.
	Options ReaderOptions
}

// Handler receives a batch of a shard: one with records, or the one that
// ends the shard (Batch.End, maybe with records). It is called from one
// goroutine per shard: concurrently for different shards, one batch at a
// time and in order within a shard. The shard is not read further until
// it returns, so once it has returned nil the caller may checkpoint the
// batch's last sequence number (and on End mark the shard finished). An
// error stops Run.
type Handler func(ctx context.Context, b Batch) error

// Run lists the shards and reads them as c says, passing batches to
// handle. Without Follow it returns nil once every shard listed at the
// start is caught up, ended or waiting on a parent that did not end; with
// Follow it returns only on an error. The first error (from the API after
// its retries, or from handle) stops every shard, and is returned; once
// ctx is done, ctx's error is returned as it is.
func (c *Consumer) Run(ctx context.Context, handle Handler) error {
	opts := c.Options.withDefaults()
	known, err := ListShards(ctx, c.API, c.Stream, opts.Backoff)
	if err != nil {
		return err
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	listed := make(map[string]bool, len(known))
	for _, s := range known {
		listed[s.ID] = true
	}
	ended := make(map[string]bool)
	started := make(map[string]bool)
	finished := func(id string) bool { return ended[id] || (c.Finished != nil && c.Finished(id)) }

	type result struct {
		shard    Shard
		ended    bool
		children []Shard
		err      error
	}
	results := make(chan result)
	running := 0
	var first error
	for {
		if first == nil {
			for _, s := range Ready(known, finished) {
				if started[s.ID] {
					continue
				}
				started[s.ID] = true
				running++
				go func() {
					end, children, err := c.readShard(ctx, s, opts, handle)
					results <- result{shard: s, ended: end, children: children, err: err}
				}()
			}
		}
		if running == 0 {
			if first != nil && parent.Err() != nil {
				return parent.Err()
			}
			return first
		}
		res := <-results
		running--
		if res.err != nil {
			if first == nil {
				first = res.err
				cancel()
			}
			continue
		}
		if !res.ended {
			continue
		}
		ended[res.shard.ID] = true
		if !c.Follow || first != nil {
			continue
		}
		children := res.children
		if len(children) == 0 { // no ChildShards: look for the children
			all, err := ListShards(ctx, c.API, c.Stream, opts.Backoff)
			if err != nil {
				first = err
				cancel()
				continue
			}
			for _, s := range all {
				if s.ParentID == res.shard.ID || s.AdjacentParentID == res.shard.ID {
					children = append(children, s)
				}
			}
		}
		for _, s := range children {
			if !listed[s.ID] {
				listed[s.ID] = true
				known = append(known, s)
			}
		}
	}
}

// readShard reads one shard until it ends, is caught up (without Follow),
// or fails.
func (c *Consumer) readShard(ctx context.Context, s Shard, opts ReaderOptions, handle Handler) (ended bool, children []Shard, err error) {
	start := TrimHorizon()
	if c.Start != nil {
		start = c.Start(s)
	}
	r := NewReader(c.API, c.Stream, s.ID, start, opts)
	for {
		b, err := r.Next(ctx)
		if err != nil {
			return false, nil, err
		}
		if len(b.Records) > 0 || b.End {
			if err := handle(ctx, b); err != nil {
				return false, nil, fmt.Errorf("%s shard %s: %w", c.Stream, s.ID, err)
			}
		}
		if b.End {
			return true, b.Children, nil
		}
		if b.CaughtUp && !c.Follow {
			return false, nil, nil
		}
	}
}
