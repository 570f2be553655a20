package bot_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/bot"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) count(part string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Count(s.b.String(), part)
}

// While Redis is down, at most 16 reactions wait for it at once; one more
// is told at once that it was not applied, so waiting reactions never hold
// every handler the adapter has. The waiting ones end with their context.
func TestReactionsWaitingAreBounded(t *testing.T) {
	const bound = 16 // bot's reactionsWaiting
	tests := []struct {
		name    string
		waiting int
		want    bot.Reply
		show    bool
	}{
		{"below the bound: it waits too", bound - 1, bot.Reply{}, false},
		{"at the bound: told at once", bound, bot.Reply{Text: bot.ReactionNotApplied}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := redistest.Start(t)
			store := incident.NewStore(rs.Client(), "t:")
			store.Unbatched = true
			logs := &syncBuffer{}
			b, err := bot.New(bot.Options{
				Chat: quietChat{}, Incidents: store, Redis: rs.Client(), Prefix: "t:",
				Log:    slog.New(slog.NewTextHandler(logs, nil)),
				People: []bot.Person{{ID: "alice", Name: "Alice Smith", ChatID: "UALICE"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			rs.Stop()
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for i := range tc.waiting {
				wg.Go(func() { b.Executor().Reaction(ctx, "UALICE", "D1", fmt.Sprintf("1.%06d", i), "white_check_mark") })
			}
			deadline := time.Now().Add(15 * time.Second)
			for logs.count("reaction not applied yet; retrying") < tc.waiting {
				if time.Now().After(deadline) {
					t.Fatalf("%d reactions never waited", tc.waiting)
				}
				<-time.After(10 * time.Millisecond)
			}
			// One more: below the bound it waits too, so it is given a
			// context that ends; at the bound it is answered at once.
			one, stop := context.WithTimeout(context.Background(), 2*time.Second)
			defer stop()
			if tc.show {
				one = context.Background()
			}
			got, show := b.Executor().Reaction(one, "UALICE", "D1", "2.000000", "white_check_mark")
			if got != tc.want || show != tc.show {
				t.Errorf("one more reaction: %+v, %v; want %+v, %v", got, show, tc.want, tc.show)
			}
			cancel()
			wg.Wait()
		})
	}
}
