package incident

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Waiting for replicas. Redis replicates asynchronously: a write the master
// answered may not have reached any replica when the master dies, and a
// failover (Sentinel) then promotes a replica without it: an alert answered
// 202 is gone and its incident number is issued again. With WithReplicaWait,
// every write a promise rests on (Open, the transitions, the page record,
// the runner's Commit, and the chat references that keep a retried chat
// call from posting again: SetChatRefs, LinkChat) is followed by WAIT on
// the same connection, in the same pipeline, and succeeds only when enough
// replicas acknowledged it.

// ErrNotReplicated is wrapped by a write that the master applied but too few
// replicas acknowledged within the wait (WithReplicaWait). The write stands
// on the master and may yet reach the replicas; a failover before it does
// loses it. Callers treat it as any unavailable store (the edges answer 503
// and the sender retries; every write is safe to retry).
var ErrNotReplicated = errors.New("not confirmed by enough replicas")

// replicaWait is WithReplicaWait's setting: n replicas within timeout; n 0 is off.
type replicaWait struct {
	n       int
	timeout time.Duration
}

// WithReplicaWait makes every write a promise rests on wait until n
// replicas have acknowledged it, for at most timeout (Redis's WAIT n
// timeout, sent in one pipeline with the write so it waits for exactly that
// connection's writes). A write that fewer replicas acknowledged in time
// fails with an error wrapping ErrNotReplicated. n 0 (the default) waits for
// nothing. timeout must be below the client's read timeout. The client must
// send a pipeline over one connection: a single node or a Sentinel failover
// client (redis.Client), not a Cluster client, which would send WAIT to a
// random node.
func WithReplicaWait(n int, timeout time.Duration) StoreOption {
	return func(s *Store) { s.wait = replicaWait{n: n, timeout: timeout} }
}

// noScript reports a script cache miss (a restarted or flushed Redis).
func noScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}

// send queues WAIT on pipe. (Pipeliner has no Wait method; the pipeline's
// read timeout, the client's, must exceed w.timeout.)
func (w replicaWait) send(ctx context.Context, pipe redis.Pipeliner) *redis.Cmd {
	return pipe.Do(ctx, "wait", w.n, w.timeout.Milliseconds())
}

// check turns WAIT's reply into an error when fewer than w.n replicas acknowledged.
func (w replicaWait) check(wait *redis.Cmd) error {
	got, err := wait.Int64()
	if err != nil {
		return fmt.Errorf("wait for replicas: %w", err)
	}
	if got < int64(w.n) {
		return fmt.Errorf("%w: %d of %d replicas within %s", ErrNotReplicated, got, w.n, w.timeout)
	}
	return nil
}

// eval runs script like script.Run, followed, when replica waits are on, by
// WAIT in the same pipeline. The returned command carries the script's reply,
// or the WAIT's failure when the script succeeded and too few replicas
// acknowledged.
func (s *Store) eval(ctx context.Context, script *redis.Script, keys []string, args ...any) *redis.Cmd {
	if s.wait.n <= 0 {
		return script.Run(ctx, s.rdb, keys, args...)
	}
	out := redis.NewCmd(ctx)
	res, err := evalWait(ctx, s.rdb, script, s.wait, keys, args)
	out.SetVal(res)
	out.SetErr(err)
	return out
}

// evalWait is one script call and WAIT in one pipeline; a cache miss sends
// the script's source instead (EVAL, which also caches it).
func evalWait(ctx context.Context, rdb redis.UniversalClient, script *redis.Script, w replicaWait, keys []string, args []any) (any, error) {
	for _, evalsha := range []bool{true, false} {
		pipe := rdb.Pipeline()
		var cmd *redis.Cmd
		if evalsha {
			cmd = script.EvalSha(ctx, pipe, keys, args...)
		} else {
			cmd = script.Eval(ctx, pipe, keys, args...)
		}
		wait := w.send(ctx, pipe)
		_, _ = pipe.Exec(ctx)
		res, err := cmd.Result()
		if evalsha && noScript(err) {
			continue // nothing ran: send the source
		}
		if err != nil {
			return res, err
		}
		return res, w.check(wait)
	}
	panic("unreachable")
}

// multi runs cmds (each a command's arguments) in one MULTI/EXEC and, when
// replica waits are on, WAIT after it in the same pipeline.
func (s *Store) multi(ctx context.Context, cmds [][]any) error {
	if len(cmds) == 0 {
		return nil
	}
	if s.wait.n <= 0 {
		pipe := s.rdb.TxPipeline()
		for _, c := range cmds {
			pipe.Do(ctx, c...)
		}
		_, err := pipe.Exec(ctx)
		return err
	}
	// MULTI and EXEC by hand: WAIT inside a transaction would not block.
	pipe := s.rdb.Pipeline()
	pipe.Do(ctx, "multi")
	for _, c := range cmds {
		pipe.Do(ctx, c...)
	}
	exec := pipe.Do(ctx, "exec")
	wait := s.wait.send(ctx, pipe)
	_, _ = pipe.Exec(ctx)
	res, err := exec.Slice()
	if err != nil {
		return err
	}
	for _, r := range res {
		if e, ok := r.(error); ok {
			return e
		}
	}
	return s.wait.check(wait)
}

// setWait is SET key val (with ttl, 0: none) followed, when replica waits
// are on, by WAIT in the same pipeline.
func (s *Store) setWait(ctx context.Context, key string, val any, ttl time.Duration) error {
	if s.wait.n <= 0 {
		return s.rdb.Set(ctx, key, val, ttl).Err()
	}
	pipe := s.rdb.Pipeline()
	set := pipe.Set(ctx, key, val, ttl)
	wait := s.wait.send(ctx, pipe)
	_, _ = pipe.Exec(ctx)
	if err := set.Err(); err != nil {
		return err
	}
	return s.wait.check(wait)
}
