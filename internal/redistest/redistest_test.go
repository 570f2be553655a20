package redistest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestStartStopRestart(t *testing.T) {
	s := Start(t)
	c := s.Client()
	ctx := Ctx(t)
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("set: %v", err)
	}
	s.Stop()
	if err := c.Get(ctx, "k").Err(); err == nil {
		t.Fatal("get after Stop succeeded; the server is still up")
	}
	s.Restart()
	if v, err := c.Get(ctx, "k").Result(); err == nil {
		t.Fatalf("after Restart the key survived (%q); expected an empty server", v)
	}
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("ping after Restart: %v", err)
	}
}

func TestServersArePrivate(t *testing.T) {
	a, b := Start(t), Start(t)
	if a.Addr == b.Addr {
		t.Fatalf("two servers share %s", a.Addr)
	}
	ctx := Ctx(t)
	a.Client().Set(ctx, "only-a", "1", 0)
	if n, _ := b.Client().Exists(ctx, "only-a").Result(); n != 0 {
		t.Fatal("key written to server a is visible on server b")
	}
}

// TestDurableSurvivesKill: with the append-only file a kill -9 loses no
// acknowledged write; without it (Start) everything is gone.
func TestDurableSurvivesKill(t *testing.T) {
	cases := []struct {
		name  string
		start func(testing.TB) *Server
		kept  bool
	}{
		{"appendonly yes keeps every acknowledged write", StartDurable, true},
		{"appendonly no loses them", Start, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.start(t)
			c := s.Client()
			ctx := Ctx(t)
			for i := 0; i < 100; i++ {
				if err := c.Incr(ctx, "seq").Err(); err != nil {
					t.Fatal(err)
				}
			}
			s.Stop()
			s.Restart()
			n, _ := c.Get(ctx, "seq").Int()
			if got := n == 100; got != tc.kept {
				t.Fatalf("after kill -9 and restart seq = %d; kept = %v, want %v", n, got, tc.kept)
			}
		})
	}
}

// TestRelaunch: Relaunch leaves a running server alone, brings a stopped
// one back on its address, and returns an error (it does not fail the
// test) when another process holds the address.
func TestRelaunch(t *testing.T) {
	cases := []struct {
		name    string
		before  func(t *testing.T, s *Server)
		errHas  string // "" for a server back on its address
		keyKept bool
	}{
		{"running: left alone", func(*testing.T, *Server) {}, "", true},
		{"stopped: back, empty", func(_ *testing.T, s *Server) { s.Stop() }, "", false},
		{"address taken: an error", func(t *testing.T, s *Server) {
			s.Stop()
			l, err := net.Listen("tcp", s.Addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
		}, "not within", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := Start(t)
			c := s.Client()
			ctx := Ctx(t)
			if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
				t.Fatal(err)
			}
			tc.before(t, s)
			rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			err := s.Relaunch(rctx)
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("Relaunch: %v, want %q", err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatalf("Relaunch: %v", err)
			}
			n, err := c.Exists(ctx, "k").Result()
			if err != nil {
				t.Fatal(err)
			}
			if kept := n == 1; kept != tc.keyKept {
				t.Fatalf("key kept %v, want %v", kept, tc.keyKept)
			}
		})
	}
}

// TestRelaunchWaitsForLoading: Relaunch returns once the append-only file
// is loaded, so the first command after it is answered, not refused with
// LOADING (a server accepts connections and INFO while it loads).
func TestRelaunchWaitsForLoading(t *testing.T) {
	s := StartDurable(t)
	c := s.Client()
	ctx := Ctx(t)
	// About 30 MB of AOF: loading it takes a good part of a second.
	const batches, perBatch = 300, 1000
	val := strings.Repeat("x", 64)
	for b := 0; b < batches; b++ {
		pipe := c.Pipeline()
		for i := 0; i < perBatch; i++ {
			pipe.Set(ctx, "k"+strconv.Itoa(b*perBatch+i), val, 0)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	waitAOFWritten(t, c)
	s.Stop()
	if err := s.Relaunch(ctx); err != nil {
		t.Fatal(err)
	}
	// A fresh client that does not retry (go-redis retries LOADING).
	fresh := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
	defer fresh.Close()
	n, err := fresh.DBSize(ctx).Result()
	if err != nil {
		t.Fatalf("the first command after Relaunch: %v", err)
	}
	if n != batches*perBatch {
		t.Fatalf("dbsize %d after Relaunch, want %d", n, batches*perBatch)
	}
}

// waitAOFWritten waits until c's server has written its AOF buffer to the
// file. appendfsync everysec postpones that write (up to 2 s, the replies
// already sent) while a background fsync is pending, as one often is on a
// busy machine: acknowledged writes a kill -9 would lose.
func waitAOFWritten(t *testing.T, c *redis.Client) {
	t.Helper()
	waitFor(t, 5*time.Second, "the AOF buffer written", func(ctx context.Context) error {
		info, err := c.Info(ctx, "persistence").Result()
		if err != nil {
			return err
		}
		if n := infoField(info, "aof_buffer_length"); n != "0" {
			return fmt.Errorf("aof_buffer_length %s", n)
		}
		return nil
	})
}
