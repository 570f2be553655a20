package incident

import (
	"context"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Coalescing Open calls. Each alert is one script call; sent one by one, a
// storm costs a network round trip and a pair of syscalls per alert on both
// sides. The batcher gathers the calls that arrive while a pipeline is in
// flight and sends them together, so Redis reads and answers many per
// syscall. Nothing waits for a batch to fill: a lone alert goes at once.
// Each call keeps its own atomic script; batching changes only transport.

const (
	batchMax      = 128 // calls per pipeline
	batchFlushers = 4   // pipelines in flight at once
)

type scriptCall struct {
	keys []string
	args []any
	res  any
	err  error
	done chan struct{}
}

type batcher struct {
	rdb    redis.UniversalClient
	script *redis.Script
	wait   replicaWait // WAIT appended to each pipeline (WithReplicaWait)
	calls  chan *scriptCall
	stop   chan struct{}
	wg     sync.WaitGroup
}

func newBatcher(rdb redis.UniversalClient, script *redis.Script, wait replicaWait) *batcher {
	b := &batcher{rdb: rdb, script: script, wait: wait, calls: make(chan *scriptCall), stop: make(chan struct{})}
	for range batchFlushers {
		b.wg.Add(1)
		go b.flush()
	}
	return b
}

// run sends one script call through the batcher and waits for its reply.
// If ctx ends first the call may still be executed: as with any request
// whose reply is lost, the caller must treat the outcome as unknown.
func (b *batcher) run(ctx context.Context, keys []string, args []any) (any, error) {
	c := &scriptCall{keys: keys, args: args, done: make(chan struct{})}
	select {
	case b.calls <- c:
	case <-b.stop:
		return nil, errClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case <-c.done:
		return c.res, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (b *batcher) flush() {
	defer b.wg.Done()
	batch := make([]*scriptCall, 0, batchMax)
	for {
		select {
		case <-b.stop:
			return
		case c := <-b.calls:
			batch = append(batch[:0], c)
		}
	more:
		for len(batch) < batchMax {
			select {
			case c := <-b.calls:
				batch = append(batch, c)
			default:
				break more
			}
		}
		b.exec(batch)
	}
}

func (b *batcher) exec(batch []*scriptCall) {
	ctx := context.Background() // each call's deadline is the client's read/write timeout
	if len(batch) == 1 {
		c := batch[0]
		c.res, c.err = b.one(ctx, c)
		close(c.done)
		return
	}
	pipe := b.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(batch))
	for i, c := range batch {
		cmds[i] = b.script.EvalSha(ctx, pipe, c.keys, c.args...)
	}
	// One WAIT after the whole batch covers every write before it on this
	// connection.
	var wait *redis.Cmd
	if b.wait.n > 0 {
		wait = b.wait.send(ctx, pipe)
	}
	_, _ = pipe.Exec(ctx)
	var waitErr error
	if wait != nil {
		waitErr = b.wait.check(wait)
	}
	for i, c := range batch {
		c.res, c.err = cmds[i].Result()
		switch {
		case noScript(c.err):
			// A restarted or flushed Redis forgot the script: nothing
			// ran; send it again with its source (and its own WAIT).
			c.res, c.err = b.one(ctx, c)
		case c.err == nil && waitErr != nil:
			c.err = waitErr
		}
		close(c.done)
	}
}

// one sends a single call: the script (loaded if Redis lacks it), then
// WAIT when replica waits are on.
func (b *batcher) one(ctx context.Context, c *scriptCall) (any, error) {
	if b.wait.n > 0 {
		return evalWait(ctx, b.rdb, b.script, b.wait, c.keys, c.args)
	}
	return b.script.Run(ctx, b.rdb, c.keys, c.args...).Result()
}

func (b *batcher) close() {
	close(b.stop)
	b.wg.Wait()
}
