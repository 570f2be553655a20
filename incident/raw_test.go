package incident_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
)

// TestSealedPayloadsKept: open.lua keeps an alert's sealed payload in the
// same step as the alert, on the incident it reached (created, repeated,
// resolved), newest first, at most 50, with the TTL on the list; a
// duplicate delivery keeps nothing more, a recovery with nothing open keeps
// nothing, and a store without WithSealTTL keeps nothing.
func TestSealedPayloadsKept(t *testing.T) {
	s, rdb, ctx := newService(t, incident.WithSealTTL(time.Hour))
	s.Unbatched = true
	now := t0
	s.Now = func() time.Time { return now }
	open := func(key, env string, status incident.AlertStatus, delivery string) incident.OpenResult {
		t.Helper()
		a := alert(key)
		a.Status, a.Sealed, a.ReceivedAt = status, env, now
		r, err := s.OpenDelivery(ctx, a, delivery)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	envelopes := func(n int64) []string {
		t.Helper()
		ps, err := s.SealedPayloads(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range ps {
			out = append(out, p.Envelope)
		}
		return out
	}
	open("a", "e1", incident.AlertFiring, "d1")
	open("a", "e1-again", incident.AlertFiring, "d1") // the same delivery: no effect
	now = now.Add(time.Second)
	open("a", "e2", incident.AlertFiring, "")
	open("a", "", incident.AlertFiring, "") // nothing sealed: nothing kept
	now = now.Add(time.Second)
	open("a", "e3", incident.AlertResolved, "")
	if got := fmt.Sprint(envelopes(1)); got != "[e3 e2 e1]" {
		t.Fatalf("INC-1 keeps %s, want [e3 e2 e1]", got)
	}
	if inc, _, _ := s.Get(ctx, 1); !inc.Sealed {
		t.Fatal("the incident does not say it has a sealed payload")
	}
	if ttl := rdb.PTTL(ctx, "test:{inc}:i:1:raw").Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Fatalf("the list's TTL is %s", ttl)
	}
	open("b", "lost", incident.AlertResolved, "") // no open incident: kept nowhere
	if n := rdb.Exists(ctx, "test:{inc}:i:0:raw").Val(); n != 0 {
		t.Fatal("a recovery with nothing open was kept")
	}

	for i := range 60 {
		open("c", fmt.Sprintf("c%d", i), incident.AlertFiring, "")
	}
	got := envelopes(2)
	if len(got) != incident.MaxSealedPayloads || got[0] != "c59" || got[49] != "c10" {
		t.Fatalf("INC-2 keeps %d: %v…", len(got), got[:3])
	}

	plain, _, ctx2 := newService(t)
	a := alert("x")
	a.Sealed = "e"
	if _, err := plain.Open(ctx2, a); err != nil {
		t.Fatal(err)
	}
	if ps, err := plain.SealedPayloads(ctx2, 1); err != nil || len(ps) != 0 {
		t.Fatalf("without WithSealTTL: %v %v", ps, err)
	}
	if inc, _, _ := plain.Get(ctx2, 1); inc.Sealed {
		t.Fatal("without WithSealTTL the incident says sealed")
	}
	if _, err := plain.SealedPayloads(ctx2, 9); incident.ErrorCode(err) != incident.NotFound {
		t.Fatalf("an unknown incident: %v", err)
	}
	if err := plain.RawViewed(ctx2, 9, "alice", ""); incident.ErrorCode(err) != incident.NotFound {
		t.Fatalf("an unknown incident viewed: %v", err)
	}
}

// TestSealedPayloadsOnCluster: the sealed list and viewed.lua stay in the
// {inc} slot (no CROSSSLOT on a three-master cluster).
func TestSealedPayloadsOnCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Redis Cluster")
	}
	cl := redistest.StartCluster(t)
	s := incident.NewStore(cl.Client(), "test:", incident.WithSealTTL(time.Hour))
	t.Cleanup(s.Close)
	ctx := redistest.Ctx(t)
	a := alert("a")
	a.Sealed, a.ReceivedAt = "env", time.Now()
	mustOpen(t, s, ctx, a)
	ps, err := s.SealedPayloads(ctx, 1)
	if err != nil || len(ps) != 1 || ps[0].Envelope != "env" {
		t.Fatalf("%v %v", ps, err)
	}
	if err := s.RawViewed(ctx, 1, "alice", "1 raw payload opened"); err != nil {
		t.Fatal(err)
	}
}
