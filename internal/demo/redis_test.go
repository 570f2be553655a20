package demo

import (
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/redisproc"
	"github.com/batonhq/baton/internal/redistest"
)

func deadAddr(t *testing.T) string {
	t.Helper()
	addr, err := redisproc.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// TestStartRedis: the order the demo tries (configured, redis-server,
// in-memory), and what each says.
func TestStartRedis(t *testing.T) {
	live := redistest.Start(t)
	tests := []struct {
		name    string
		opts    RedisOptions
		kind    RedisKind
		noteHas string
		err     string
	}{
		{"configured redis answers", RedisOptions{Addr: live.Addr}, RedisConfigured, "using the Redis at " + live.Addr, ""},
		{"nothing answers: redis-server", RedisOptions{Addr: deadAddr(t)}, RedisSpawned, "started redis-server on 127.0.0.1:", ""},
		{"nothing answers, no redis-server: in-memory", RedisOptions{Addr: deadAddr(t), Binary: "/nonexistent/redis-server"}, RedisInMemory, "NOTHING will be kept", ""},
		{"memory asked for", RedisOptions{Mode: RedisMemory, Addr: live.Addr}, RedisInMemory, "in-memory Redis", ""},
		{"exact address that does not answer", RedisOptions{Mode: RedisExact, Addr: deadAddr(t)}, "", "", "does not answer"},
		{"exact address that answers", RedisOptions{Mode: RedisExact, Addr: live.Addr}, RedisConfigured, live.Addr, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := StartRedis(testCtx(t), tc.opts)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.Kind != tc.kind || !strings.Contains(r.Note, tc.noteHas) {
				t.Fatalf("kind %q note %q", r.Kind, r.Note)
			}
			if err := pingRedis(testCtx(t), RedisOptions{Addr: r.Addr}); err != nil {
				t.Fatalf("ping %s: %v", r.Addr, err)
			}
			r.Close()
			r.Close() // twice is fine
			if tc.kind != RedisConfigured {
				if err := pingRedis(testCtx(t), RedisOptions{Addr: r.Addr}); err == nil {
					t.Fatalf("%s still answers after Close", r.Addr)
				}
			} else if err := pingRedis(testCtx(t), RedisOptions{Addr: r.Addr}); err != nil {
				t.Fatalf("Close stopped a Redis the demo did not start: %v", err)
			}
		})
	}
}

// TestClearPrefix deletes only the demo's keys, and refuses a prefix that
// is not a demo's.
func TestClearPrefix(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client()
	ctx := testCtx(t)
	for _, k := range []string{"baton-demo:{inc}:seq", "baton-demo:{inc}:i:1", "baton-demo:ov:x", "baton:{inc}:seq", "baton-demoX", "other"} {
		if err := c.Set(ctx, k, "1", time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
	}
	o := RedisOptions{Addr: srv.Addr}
	if _, err := ClearPrefix(ctx, o, "baton:"); err == nil {
		t.Fatal("cleared a non-demo prefix")
	}
	n, err := ClearPrefix(ctx, o, "baton-demo:")
	if err != nil || n != 3 {
		t.Fatalf("cleared %d: %v", n, err)
	}
	left, _ := c.Keys(ctx, "*").Result()
	if len(left) != 3 {
		t.Fatalf("left %q", left)
	}
	if got := globEscape(`a*b?[c]\`); got != `a\*b\?\[c\]\\` {
		t.Fatalf("globEscape: %q", got)
	}
}

// TestPingRedisAuth: a Redis that wants a password is not "answering" to
// the demo unless the configured password works.
func TestPingRedisAuth(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client()
	ctx := testCtx(t)
	if err := c.ConfigSet(ctx, "requirepass", "s3cret-pass").Err(); err != nil {
		t.Fatal(err)
	}
	if err := pingRedis(ctx, RedisOptions{Addr: srv.Addr}); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("no password: %v", err)
	}
	if err := pingRedis(ctx, RedisOptions{Addr: srv.Addr, Password: "s3cret-pass", DB: 2}); err != nil {
		t.Fatalf("with the password: %v", err)
	}
}
