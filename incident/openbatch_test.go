package incident_test

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
)

// batchSteps is a mixed batch: two new alerts, a repeat of the first, the
// second's recovery, a recovery with nothing open, a firing alert older
// than that recovery (superseded), and a recovery older than its firing
// alert (stale).
func batchSteps() []incident.Alert {
	at := func(a incident.Alert, sec int, status incident.AlertStatus) incident.Alert {
		a.ReceivedAt = t0.Add(time.Minute)
		a.SourceTime = t0.Add(time.Duration(sec) * time.Second)
		a.Status = status
		return a
	}
	crit := alert("b")
	crit.Severity = incident.SevCritical
	return []incident.Alert{
		at(alert("a"), 10, incident.AlertFiring),
		at(crit, 11, incident.AlertFiring),
		at(alert("a"), 12, incident.AlertFiring),
		at(alert("b"), 13, incident.AlertResolved),
		at(alert("c"), 20, incident.AlertResolved),
		at(alert("c"), 15, incident.AlertFiring),
		at(alert("d"), 30, incident.AlertFiring),
		at(alert("d"), 25, incident.AlertResolved),
	}
}

// TestOpenBatchIsOpenInOrder: a batch does to the store exactly what the
// same alerts opened one by one do: the same results, incidents,
// timelines and jobs.
func TestOpenBatchIsOpenInOrder(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client()
	ctx := redistest.Ctx(t)
	one := incident.NewStore(c, "one:")
	batch := incident.NewStore(c, "batch:")
	t.Cleanup(one.Close)
	var want []incident.OpenResult
	for _, a := range batchSteps() {
		r, err := one.Open(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, r)
	}
	got, err := batch.OpenBatch(ctx, batchSteps())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("batch results\n%+v\nwant (one by one)\n%+v", got, want)
	}
	outcomes := []incident.Outcome{incident.OutcomeCreated, incident.OutcomeCreated, incident.OutcomeRepeated, incident.OutcomeResolved,
		incident.OutcomeNoOpenIncident, incident.OutcomeSuperseded, incident.OutcomeCreated, incident.OutcomeStaleRecovery}
	for i, r := range got {
		if r.Outcome != outcomes[i] {
			t.Errorf("alerts[%d]: %s, want %s", i, r.Outcome, outcomes[i])
		}
	}
	for n := int64(1); n <= 3; n++ {
		i1, t1, err1 := one.Get(ctx, n)
		i2, t2, err2 := batch.Get(ctx, n)
		if err1 != nil || err2 != nil {
			t.Fatalf("INC-%d: %v %v", n, err1, err2)
		}
		if !reflect.DeepEqual(i1, i2) || !reflect.DeepEqual(t1, t2) {
			t.Errorf("INC-%d differs:\none   %+v %+v\nbatch %+v %+v", n, i1, t1, i2, t2)
		}
	}
	for _, q := range []string{"jobs", "urgent", "chat", "open", "resolved"} {
		a := c.ZRangeWithScores(ctx, "one:{inc}:"+q, 0, -1).Val()
		b := c.ZRangeWithScores(ctx, "batch:{inc}:"+q, 0, -1).Val()
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: batch %v, one by one %v", q, b, a)
		}
	}
	if j := c.ZRange(ctx, "batch:{inc}:jobs", 0, -1).Val(); !reflect.DeepEqual(j, []string{"page:1", "page:3"}) {
		t.Errorf("jobs %v, want the first pages of INC-1 and INC-3", j)
	}
}

// TestOpenBatchStoresAllOrNothing: an invalid alert anywhere in the batch
// refuses it, naming the alert, before anything is sent; a valid batch is
// one script call.
func TestOpenBatchStoresAllOrNothing(t *testing.T) {
	s, c, ctx := newService(t)
	bad := batchSteps()
	bad[2].DedupKey = ""
	_, err := s.OpenBatch(ctx, bad)
	if incident.ErrorCode(err) != incident.Invalid || !strings.Contains(err.Error(), "alerts[2]") {
		t.Fatalf("err = %v, want Invalid naming alerts[2]", err)
	}
	if n := c.DBSize(ctx).Val(); n != 0 {
		t.Fatalf("%d keys stored by a refused batch: %v", n, c.Keys(ctx, "*").Val())
	}
	for _, n := range []int{0, incident.MaxBatch + 1} {
		if _, err := s.OpenBatch(ctx, make([]incident.Alert, n)); incident.ErrorCode(err) != incident.Invalid {
			t.Errorf("a batch of %d: %v, want Invalid", n, err)
		}
	}

	// The first call loads the script (EVALSHA refused, then EVAL).
	if _, err := s.OpenBatch(ctx, []incident.Alert{alert("first")}); err != nil {
		t.Fatal(err)
	}
	before := scriptCalls(t, c)
	var ten []incident.Alert
	for i := range 10 {
		ten = append(ten, alert("k"+strconv.Itoa(i)))
	}
	res, err := s.OpenBatch(ctx, ten)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 10 || res[9].Number != 11 || !res[9].Created {
		t.Fatalf("results %+v", res)
	}
	if calls := scriptCalls(t, c) - before; calls != 1 {
		t.Fatalf("a batch of 10 made %d script calls, want 1", calls)
	}
}

// scriptCalls is how many EVAL and EVALSHA calls Redis has run.
func scriptCalls(t *testing.T, c *redis.Client) int64 {
	t.Helper()
	info := c.Info(redistest.Ctx(t), "commandstats").Val()
	var n int64
	for _, line := range strings.Split(info, "\n") {
		if !strings.HasPrefix(line, "cmdstat_eval:") && !strings.HasPrefix(line, "cmdstat_evalsha:") {
			continue
		}
		calls, _, _ := strings.Cut(strings.SplitN(line, "calls=", 2)[1], ",")
		v, _ := strconv.ParseInt(calls, 10, 64)
		n += v
	}
	return n
}

// TestOpenBatchRequiresTheEpoch: a batch on an epoch the store does not
// hold stores nothing, like a single Open.
func TestOpenBatchRequiresTheEpoch(t *testing.T) {
	s, c, ctx := newService(t, incident.WithEpoch(func() string { return "e1" }))
	if _, err := s.OpenBatch(ctx, batchSteps()); !errors.Is(err, incident.ErrEpochChanged) {
		t.Fatalf("err = %v, want ErrEpochChanged", err)
	}
	if n := c.DBSize(ctx).Val(); n != 0 {
		t.Fatalf("%d keys stored: %v", n, c.Keys(ctx, "*").Val())
	}
	c.Set(ctx, s.EpochKey(), "e1", 0)
	if _, err := s.OpenBatch(ctx, batchSteps()); err != nil {
		t.Fatal(err)
	}
}

// TestOpenBatchOnCluster: every key of a batch is in the {inc} slot, so
// one script stores it on a three-master Redis Cluster.
func TestOpenBatchOnCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Redis Cluster")
	}
	cl := redistest.StartCluster(t)
	s := incident.NewStore(cl.Client(), "test:")
	t.Cleanup(s.Close)
	ctx := redistest.Ctx(t)
	res, err := s.OpenBatch(ctx, batchSteps())
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Outcome != incident.OutcomeCreated || res[3].Outcome != incident.OutcomeResolved || res[7].Outcome != incident.OutcomeStaleRecovery {
		t.Fatalf("results %+v", res)
	}
}
