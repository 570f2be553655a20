package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/internal/redisproc"
)

// RedisKind says which Redis the demo runs on.
type RedisKind string

// The Redis kinds, in the order the demo tries them.
const (
	// RedisConfigured is a Redis that answered at the configured address.
	RedisConfigured RedisKind = "configured"
	// RedisSpawned is a redis-server the demo started in a temporary
	// directory; it is stopped and its directory removed on Close.
	RedisSpawned RedisKind = "redis-server"
	// RedisInMemory is miniredis, a Redis-compatible server inside the demo
	// process. Nothing is kept when the demo stops.
	RedisInMemory RedisKind = "in-memory"
)

// RedisMode chooses how StartRedis finds a Redis.
type RedisMode int

const (
	// RedisAuto uses the address if a Redis answers there, else starts
	// redis-server if it is installed, else an in-memory Redis.
	RedisAuto RedisMode = iota
	// RedisExact uses the address or fails: the user named it.
	RedisExact
	// RedisMemory starts the in-memory Redis without looking further.
	RedisMemory
)

// RedisOptions are the inputs of StartRedis.
type RedisOptions struct {
	Mode RedisMode
	// Addr, Username, Password and DB are the configured Redis.
	Addr     string
	Username string
	Password string
	DB       int
	// Binary is the redis-server to start; empty: look it up on PATH.
	Binary string
	// Logf, when set, is told of each attempt that failed (one line each).
	Logf func(format string, args ...any)
}

// Redis is the Redis the demo runs on. Close stops what StartRedis started
// (nothing for a configured Redis).
type Redis struct {
	// Addr is host:port to give baton's config.
	Addr string
	// Kind says where it came from.
	Kind RedisKind
	// Note is one plain sentence for the terminal: what is used and whether
	// anything will be kept.
	Note string

	closeOnce sync.Once
	close     func()
}

// Close stops a spawned redis-server (and removes its directory) or the
// in-memory server. It is safe to call more than once.
func (r *Redis) Close() {
	r.closeOnce.Do(func() {
		if r.close != nil {
			r.close()
		}
	})
}

// ErrNoRedis is returned when no Redis could be used or started at all.
var ErrNoRedis = errors.New("no Redis available")

// StartRedis finds or starts a Redis as o.Mode says. ctx bounds the start,
// not the life of what is started (Close ends that).
func StartRedis(ctx context.Context, o RedisOptions) (*Redis, error) {
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	var problems []string
	if o.Mode != RedisMemory {
		err := pingRedis(ctx, o)
		if err == nil {
			return &Redis{Addr: o.Addr, Kind: RedisConfigured,
				Note: fmt.Sprintf("using the Redis at %s (it keeps what the demo writes under the demo's prefix)", o.Addr)}, nil
		}
		if o.Mode == RedisExact {
			return nil, fmt.Errorf("redis at %s does not answer: %w", o.Addr, err)
		}
		problems = append(problems, fmt.Sprintf("nothing answers at %s (%v)", o.Addr, err))
		logf("redis: nothing answers at %s: %v", o.Addr, err)

		r, err := spawnRedis(ctx, o.Binary)
		if err == nil {
			return r, nil
		}
		problems = append(problems, err.Error())
		logf("redis: %v", err)
	}
	r, err := startMiniredis(o.Mode == RedisMemory)
	if err != nil {
		problems = append(problems, err.Error())
		return nil, fmt.Errorf("%w: %s", ErrNoRedis, strings.Join(problems, "; "))
	}
	if len(problems) > 0 {
		r.Note += " (" + strings.Join(problems, "; ") + ")"
	}
	return r, nil
}

// pingRedis checks that a Redis answers PING at o.Addr, logged in as
// configured, within a second (redisproc.Ping).
func pingRedis(ctx context.Context, o RedisOptions) error {
	return redisproc.Ping(ctx, o.Addr, redisproc.Login{Username: o.Username, Password: o.Password, DB: o.DB})
}

// spawnRedis starts redis-server (bin, or the one on PATH) on a free
// loopback port in a temporary directory, persisting nothing. Close stops it
// (SIGTERM, then SIGKILL after two seconds) and removes the directory.
func spawnRedis(ctx context.Context, bin string) (*Redis, error) {
	bin, err := redisproc.Binary(bin)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "baton-demo-redis-")
	if err != nil {
		return nil, fmt.Errorf("redis-server: temp dir: %w", err)
	}
	p, err := redisproc.Start(ctx, bin, dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("redis-server would not start: %w", err)
	}
	return &Redis{
		Addr: p.Addr, Kind: RedisSpawned,
		Note: fmt.Sprintf("started redis-server on %s in %s; it is stopped and removed when the demo ends", p.Addr, dir),
		close: func() {
			p.Stop()
			_ = os.RemoveAll(dir)
		},
	}, nil
}

// startMiniredis starts the in-memory Redis on a loopback port. miniredis
// never expires keys on its own (it has no clock of its own), so a ticker
// moves its clock forward with real time while it runs.
func startMiniredis(asked bool) (*Redis, error) {
	why := "no Redis found and redis-server would not start"
	if asked {
		why = "as asked (--redis memory)"
	}
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("in-memory redis: %w", err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				m.FastForward(time.Second)
			}
		}
	})
	return &Redis{
		Addr: m.Addr(), Kind: RedisInMemory,
		Note: fmt.Sprintf("%s: an in-memory Redis on %s; NOTHING will be kept when the demo stops", why, m.Addr()),
		close: func() {
			close(done)
			wg.Wait()
			m.Close()
		},
	}, nil
}

// ClearPrefix deletes every key under prefix at addr (SCAN, then DEL in
// batches) and returns how many it deleted. The demo calls it at start on
// a Redis it did not start, so that incidents of an earlier demo run do not
// page into a fresh sandbox. It refuses a prefix that does not contain
// "demo": it must never wipe a real baton's keys.
func ClearPrefix(ctx context.Context, o RedisOptions, prefix string) (int, error) {
	if !strings.Contains(prefix, "demo") {
		return 0, fmt.Errorf("refusing to clear keys under %q: the demo only clears a prefix containing \"demo\"", prefix)
	}
	c := redis.NewClient(&redis.Options{Addr: o.Addr, Username: o.Username, Password: o.Password, DB: o.DB,
		DialTimeout: time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, DisableIdentity: true})
	defer c.Close()
	match := globEscape(prefix) + "*"
	n := 0
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, match, 500).Result()
		if err != nil {
			return n, fmt.Errorf("scan %s: %w", match, err)
		}
		// One DEL per key: a multi-key DEL across hash slots is refused by
		// a cluster, and a pipeline of single DELs costs little more.
		if len(keys) > 0 {
			pipe := c.Pipeline()
			for _, k := range keys {
				pipe.Del(ctx, k)
			}
			if _, err := pipe.Exec(ctx); err != nil {
				return n, fmt.Errorf("delete: %w", err)
			}
			n += len(keys)
		}
		if next == 0 {
			return n, nil
		}
		cursor = next
	}
}

// globEscape escapes Redis glob characters so a prefix matches literally.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
