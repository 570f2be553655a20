package redistest

import (
	"testing"
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
