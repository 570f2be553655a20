package incident

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Coalescing Open calls. Each alert is one script call; sent one by one, a
// storm costs a network round trip and a pair of syscalls per alert on both
// sides. The batcher gathers the calls that arrive while a pipeline is in
// flight and sends them together, so Redis reads and answers many per
// syscall. Nothing waits for a batch to fill: a lone alert goes at once.
// Each call keeps its own atomic script, with one exception: duplicates.
//
// Coalescing duplicates. A storm is mostly the same alert again. Within one
// batch, consecutive firing alerts of one (service, dedup key) — consecutive
// among that key's calls; calls of other keys may sit between them — whose
// other script arguments are equal (source, epoch, number floor, grouping
// window and group) go as ONE call of lua/coalesce.lua, carrying each
// alert's receive time, static fields, severity, source time, delivery id
// and sealed payload. The script's result is exactly open.lua's, run once
// per alert in batch order, and each caller gets its own reply (its own
// alert_count, created for the one alert that opened the incident). A
// recovery, or a firing alert whose arguments differ, is never merged and
// ends its key's run, so the calls of one key keep their order. A merged
// run is sent at the place of its first call: a call of another key that
// arrived in between now runs after it, which is a reordering of calls that
// were all in flight at once, so any order of them is one the callers could
// have seen (a pipeline was never atomic: other clients' commands run
// between its calls too).

const (
	batchMax = 128 // calls per pipeline
	// batchFlushers is how many pipelines are in flight at once: one.
	// Redis runs scripts one at a time, so a second pipeline in flight
	// only splits the calls waiting into smaller batches: more script
	// calls, more syscalls on both sides, fewer duplicates coalesced.
	// Measured under `baton load --mode duplicate -c 32` (2026-12-01): 4
	// flushers, 5.4 alerts a script call and 87 µs of baton CPU + 18 µs
	// of redis-server CPU an alert; 1 flusher, 13.8 alerts a call, 66 + 12 µs.
	batchFlushers = 1
	// callBuffer is how many calls may wait for the flusher without
	// blocking their callers: a caller hands its call over and waits for
	// the answer, instead of waiting for the flusher to come back from
	// Redis to take it (a goroutine hand-off per call).
	callBuffer = 4 * batchMax
)

var (
	//go:embed lua/coalesce.lua
	coalesceSrc string

	// coalesceScript stores merged firing alerts of one key in one call,
	// with open.lua's body prepended as open_one for the alerts that are
	// not plain repeats (lua/coalesce.lua).
	coalesceScript = redis.NewScript(auditSrc + "local function open_one(KEYS, ARGV)\n" + openSrc + "\nend\n" + coalesceSrc)
)

type scriptCall struct {
	keys []string
	args []any
	// kind says which calls of a batch may be merged (mergeKind).
	kind callKind
	res  any
	err  error
	done chan struct{}
}

// callKind is what the coalescing decision reads of one open.lua call:
// dk, the dedup digest ("" for a call of no key), and merge, the rest of
// the arguments that must be equal for two calls to be merged ("" for a
// call never merged: a recovery).
type callKind struct{ dk, merge string }

// open.lua's ARGV positions (0-based) that the batcher reads; openCall
// writes them.
const (
	argDedup    = 1  // dedup digest
	argNow      = 2  // receive time ms
	argStatic   = 4  // static json
	argSeverity = 5  // severity
	argSource   = 6  // source
	argStatus   = 8  // "firing" | "resolved"
	argDelivery = 14 // "1" when the alert carries a delivery id
	argSrcTime  = 15 // source time ms
	argEpoch    = 17 // epoch marker
	argFloor    = 18 // number floor
	argWindow   = 19 // grouping window ms
	argSealed   = 20 // optional sealed payload
	openArgs    = 21 // open.lua's ARGV count with the optional last one
	openKeys    = 10 // open.lua's KEYS count
	keyDelivery = 6  // KEYS: the delivery marker
	keyGroup    = 9  // KEYS: the grouping index
)

// mergeKind is the callKind of an open.lua call: firing alerts of one dedup
// digest merge when their source, epoch, floor, grouping window and group
// are equal; their receive and source times, static fields, severity,
// delivery id and sealed payload may differ (coalesce.lua takes each).
func mergeKind(keys []string, args []any) callKind {
	if len(args) < openArgs-1 || len(keys) != openKeys {
		return callKind{}
	}
	dk := argString(args[argDedup])
	if argString(args[argStatus]) != "firing" {
		return callKind{dk: dk}
	}
	// One string, built once: it is compared for every call of the batch.
	var b strings.Builder
	for i, a := range []any{args[argSource], args[argEpoch], args[argFloor], args[argWindow], keys[keyGroup]} {
		if i > 0 {
			b.WriteByte(0)
		}
		b.WriteString(argString(a))
	}
	return callKind{dk: dk, merge: b.String()}
}

// argString is a script argument as Redis receives it (go-redis writes
// strings, byte slices and integers as their text), without fmt for the
// types openCall passes.
func argString(a any) string {
	switch v := a.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case int:
		return strconv.Itoa(v)
	}
	return fmt.Sprint(a)
}

// coalescePlan is the coalescing decision: it splits a batch of calls into
// units, each sent as one script call (a unit of one: open.lua; more:
// coalesce.lua), listed in the order of each unit's first call. A call
// joins the open unit of its dedup digest when both can merge (the same
// non-empty merge); any other call of that digest closes it.
func coalescePlan(kinds []callKind) [][]int {
	units := make([][]int, 0, len(kinds))
	open := map[string]int{} // dk -> index in units of its open unit
	for i, k := range kinds {
		if u, ok := open[k.dk]; ok && k.dk != "" && k.merge != "" && kinds[units[u][0]].merge == k.merge {
			units[u] = append(units[u], i)
			continue
		}
		units = append(units, []int{i})
		if k.dk != "" && k.merge != "" {
			open[k.dk] = len(units) - 1
		} else {
			delete(open, k.dk)
		}
	}
	return units
}

type batcher struct {
	rdb    redis.UniversalClient
	script *redis.Script
	// coalesce is the script of merged calls (nil: every call alone).
	coalesce *redis.Script
	wait     replicaWait // WAIT appended to each pipeline (WithReplicaWait)
	calls    chan *scriptCall
	stop     chan struct{}
	wg       sync.WaitGroup
	// mu orders sends on calls (read-locked) before close (locked), so no
	// call lands in the buffer after close has answered what it held.
	mu     sync.RWMutex
	closed bool
}

func newBatcher(rdb redis.UniversalClient, script, coalesce *redis.Script, wait replicaWait) *batcher {
	b := &batcher{rdb: rdb, script: script, coalesce: coalesce, wait: wait, calls: make(chan *scriptCall, callBuffer), stop: make(chan struct{})}
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
	if b.coalesce != nil {
		c.kind = mergeKind(keys, args)
	}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return nil, errClosed
	}
	select {
	case b.calls <- c:
		b.mu.RUnlock()
	case <-ctx.Done():
		b.mu.RUnlock()
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
	kinds := make([]callKind, len(batch))
	for i, c := range batch {
		kinds[i] = c.kind
	}
	units := make([]unit, 0, len(batch))
	for _, idx := range coalescePlan(kinds) {
		u := unit{calls: make([]*scriptCall, len(idx))}
		for j, i := range idx {
			u.calls[j] = batch[i]
		}
		if len(u.calls) > 1 {
			u.keys, u.args = coalesceCall(u.calls)
		}
		units = append(units, u)
	}
	if len(units) == 1 {
		res, err := b.oneUnit(ctx, units[0])
		units[0].answer(res, err)
		return
	}
	pipe := b.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(units))
	for i, u := range units {
		if len(u.calls) == 1 {
			cmds[i] = b.script.EvalSha(ctx, pipe, u.calls[0].keys, u.calls[0].args...)
		} else {
			cmds[i] = b.coalesce.EvalSha(ctx, pipe, u.keys, u.args...)
		}
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
	for i, u := range units {
		res, err := cmds[i].Result()
		switch {
		case noScript(err):
			// A restarted or flushed Redis forgot the script: nothing
			// ran; send it again with its source (and its own WAIT).
			res, err = b.oneUnit(ctx, u)
		case err == nil && waitErr != nil:
			err = waitErr
		}
		u.answer(res, err)
	}
}

// unit is one script call of a batch: a single open.lua call, or calls
// merged into one coalesce.lua call (keys and args).
type unit struct {
	calls []*scriptCall
	keys  []string
	args  []any
}

// answer hands each caller of u its reply: a merged call's reply is one
// open.lua reply per call, in order; its error is every caller's.
func (u unit) answer(res any, err error) {
	if len(u.calls) == 1 {
		c := u.calls[0]
		c.res, c.err = res, err
		close(c.done)
		return
	}
	list, _ := res.([]any)
	if err == nil && len(list) != len(u.calls) {
		err = fmt.Errorf("unexpected coalesced script reply %v", res)
	}
	for i, c := range u.calls {
		if err != nil {
			c.err = err
		} else {
			c.res = list[i]
		}
		close(c.done)
	}
}

// oneUnit sends one unit alone (loading its script if Redis lacks it).
func (b *batcher) oneUnit(ctx context.Context, u unit) (any, error) {
	if len(u.calls) == 1 {
		return b.one(ctx, u.calls[0].keys, u.calls[0].args, b.script)
	}
	return b.one(ctx, u.keys, u.args, b.coalesce)
}

// coalesceCall builds coalesce.lua's KEYS and ARGV for calls that merge
// (coalescePlan): the first call's open.lua KEYS and ARGV, then each
// call's delivery marker and its own values (see lua/coalesce.lua).
func coalesceCall(calls []*scriptCall) ([]string, []any) {
	first := calls[0]
	keys := make([]string, 0, openKeys+len(calls))
	keys = append(keys, first.keys...)
	args := make([]any, 0, 1+openArgs+6*len(calls))
	args = append(args, len(calls))
	args = append(args, first.args[:openArgs-1]...)
	args = append(args, sealedArg(first.args))
	var prev any
	for _, c := range calls {
		keys = append(keys, c.keys[keyDelivery])
		st := c.args[argStatic]
		if prev != nil && sameArg(prev, st) {
			st = ""
		} else {
			prev = st
		}
		args = append(args, c.args[argNow], st, c.args[argSeverity], c.args[argSrcTime], c.args[argDelivery], sealedArg(c.args))
	}
	return keys, args
}

// sealedArg is open.lua's optional last argument, "" when absent.
func sealedArg(args []any) any {
	if len(args) > argSealed {
		return args[argSealed]
	}
	return ""
}

// sameArg reports whether two script arguments are the same bytes.
func sameArg(a, b any) bool {
	ab, aok := a.([]byte)
	bb, bok := b.([]byte)
	if aok && bok {
		return bytes.Equal(ab, bb)
	}
	return argString(a) == argString(b)
}

// one sends a single call: the script (loaded if Redis lacks it), then
// WAIT when replica waits are on.
func (b *batcher) one(ctx context.Context, keys []string, args []any, script *redis.Script) (any, error) {
	if b.wait.n > 0 {
		return evalWait(ctx, b.rdb, script, b.wait, keys, args)
	}
	return script.Run(ctx, b.rdb, keys, args...).Result()
}

// close stops the flusher; the calls still waiting in the buffer, never
// sent, are answered errClosed, and so is every later call.
func (b *batcher) close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	b.mu.Unlock()
	close(b.stop)
	b.wg.Wait()
	for {
		select {
		case c := <-b.calls:
			c.err = errClosed
			close(c.done)
		default:
			return
		}
	}
}
