package escalation_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
)

// oomPager logs through a LogPager and, after its first page, puts Redis
// out of memory (maxmemory 1, noeviction): Redis answers reads and refuses
// writes from then on, so the page's "sent" record is refused.
type oomPager struct {
	*escalation.LogPager
	rdb  *redis.Client
	once sync.Once
}

func (p *oomPager) Page(ctx context.Context, pg escalation.Page) error {
	err := p.LogPager.Page(ctx, pg)
	p.once.Do(func() {
		p.rdb.ConfigSet(ctx, "maxmemory-policy", "noeviction")
		p.rdb.ConfigSet(ctx, "maxmemory", "1")
	})
	return err
}

// oomStore is the real store, except that its Commit first makes a write
// Redis may refuse under OOM and returns Redis's refusal: a commit whose
// first write is refused (commit.lua refuses so when its lease is no longer
// held). It records the delay of each release after a failed run.
type oomStore struct {
	escalation.Store
	rdb *redis.Client

	mu     sync.Mutex
	delays []time.Duration
}

func (s *oomStore) Commit(ctx context.Context, j incident.Job, c incident.Commit) (bool, error) {
	if err := s.rdb.Set(ctx, "test:probe", "x", 0).Err(); err != nil {
		return false, err
	}
	return s.Store.Commit(ctx, j, c)
}

func (s *oomStore) ReleaseJob(ctx context.Context, j incident.Job, due time.Time) (bool, error) {
	if j.Kind == incident.JobPage && !due.IsZero() {
		s.mu.Lock()
		s.delays = append(s.delays, time.Until(due))
		s.mu.Unlock()
	}
	return s.Store.ReleaseJob(ctx, j, due)
}

func (s *oomStore) released() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.delays...)
}

// Redis out of memory answers reads and refuses writes: a page logged
// whose "sent" record and commit are refused is not logged again by the
// process that logged it (the LogPager remembers it), the failing job
// backs off instead of running every RetryMin, and once Redis accepts
// writes the page is committed once.
func TestRedisRefusingWritesLogPager(t *testing.T) {
	e := newEnv(t)
	rdb := e.srv.Client()
	lines := &logBuffer{}
	pager := &oomPager{LogPager: &escalation.LogPager{Log: slog.New(slog.NewTextHandler(lines, nil))}, rdb: rdb}
	st := &oomStore{Store: e.svc, rdb: rdb}
	r := e.runner(testPolicy(time.Hour, time.Hour, 0, 0), nil, func(o *escalation.Options) {
		o.Pager = pager
		o.Incidents = st
		o.RetryMin, o.RetryMax = 20*time.Millisecond, 10*time.Second
	})
	e.start(r)
	n := e.open("k")
	const key = "key=INC-1/0/first/alice"
	e.eventually("four failed runs under OOM", func() bool { return len(st.released()) >= 4 })
	if got := strings.Count(lines.String(), key); got != 1 {
		t.Errorf("page %s logged %d times under OOM, want 1\npages:\n%s\nlog:\n%s", key, got, lines, e.log)
	}
	d := st.released()
	if d[3] < 2*d[0] || d[3] < 4*20*time.Millisecond {
		t.Errorf("release delays after failed runs %v: no backoff (RetryMin 20ms, doubling)", d)
	}

	if err := rdb.ConfigSet(e.ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	e.eventually("the page committed once Redis accepts writes", func() bool { return countPages(e.timeline(n)) == 1 })
	if got := strings.Count(lines.String(), key); got != 1 {
		t.Errorf("page %s logged %d times, want 1\npages:\n%s", key, got, lines)
	}
}
