package incident_test

import (
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
)

// The page record, step by step: a page is begun once, its outcome
// recorded, a step at a later revision replaces the earlier one's marks,
// and a step at an earlier revision writes nothing.
func TestPageRecord(t *testing.T) {
	s, c, ctx := newService(t)
	const key = "test:{inc}:i:7:pg"
	type op struct {
		begin bool
		end   incident.PageMark // when !begin
	}
	steps := []struct {
		name string
		rev  int64
		page string
		op   op
		want incident.PageMark // what BeginPage returns (for begin steps)
		mark string            // the page's field afterwards ("" when absent)
		at   string            // the record's "#at" afterwards: when the step's earliest marked page began
	}{
		{"first begin: nothing recorded", 3, "INC-7/3/first/alice", op{begin: true}, incident.PageUnsent, "sending", "1001"},
		{"begun again: an earlier run is sending", 3, "INC-7/3/first/alice", op{begin: true}, incident.PageSending, "sending", "1001"},
		{"delivered", 3, "INC-7/3/first/alice", op{end: incident.PageSent}, "", "sent", "1001"},
		{"begun after delivery: sent", 3, "INC-7/3/first/alice", op{begin: true}, incident.PageSent, "sent", "1001"},
		{"another page of the step", 3, "INC-7/3/notify/carol", op{begin: true}, incident.PageUnsent, "sending", "1001"},
		{"certainly not delivered: forgotten", 3, "INC-7/3/notify/carol", op{end: incident.PageUnsent}, "", "", "1001"},
		{"begun after being forgotten: unsent", 3, "INC-7/3/notify/carol", op{begin: true}, incident.PageUnsent, "sending", "1001"},
		{"forgetting a sent page changes nothing", 3, "INC-7/3/first/alice", op{end: incident.PageUnsent}, "", "sent", "1001"},
		{"a later step replaces the record", 5, "INC-7/5/repeat/alice", op{begin: true}, incident.PageUnsent, "sending", "1009"},
		{"a stale step writes nothing", 3, "INC-7/3/first/bob", op{begin: true}, incident.PageStale, "", "1009"},
		{"a stale step's outcome is not recorded", 3, "INC-7/3/first/bob", op{end: incident.PageSent}, "", "", "1009"},
	}
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.op.begin {
				got, err := s.BeginPage(ctx, 7, st.rev, st.page, time.UnixMilli(int64(1001+i)))
				if err != nil {
					t.Fatal(err)
				}
				if got != st.want {
					t.Fatalf("BeginPage = %q, want %q", got, st.want)
				}
			} else if err := s.EndPage(ctx, 7, st.rev, st.page, st.op.end); err != nil {
				t.Fatal(err)
			}
			if got := c.HGet(ctx, key, st.page).Val(); got != st.mark {
				t.Fatalf("mark = %q, want %q", got, st.mark)
			}
			if got := c.HGet(ctx, key, "#at").Val(); got != st.at {
				t.Fatalf("#at = %q, want %q", got, st.at)
			}
		})
	}
	// Only the latest step's marks are kept, and they expire.
	if got := c.HGetAll(ctx, key).Val(); len(got) != 3 || got["#rev"] != "5" || got["INC-7/5/repeat/alice"] != "sending" {
		t.Fatalf("record = %v, want only rev 5's mark", got)
	}
	if ttl := c.PTTL(ctx, key).Val(); ttl <= 23*time.Hour || ttl > incident.PageRecordTTL {
		t.Fatalf("ttl = %v, want about %v", ttl, incident.PageRecordTTL)
	}
	if err := s.EndPage(ctx, 7, 5, "INC-7/5/repeat/alice", incident.PageSending); err == nil {
		t.Fatal("EndPage with PageSending: want an error")
	}
	// A step whose only marked page is forgotten has not begun: no "#at".
	if _, err := s.BeginPage(ctx, 7, 6, "INC-7/6/repeat/alice", time.UnixMilli(2000)); err != nil {
		t.Fatal(err)
	}
	if err := s.EndPage(ctx, 7, 6, "INC-7/6/repeat/alice", incident.PageUnsent); err != nil {
		t.Fatal(err)
	}
	if got := c.HGetAll(ctx, key).Val(); len(got) != 1 || got["#rev"] != "6" {
		t.Fatalf("record after the only page was forgotten = %v, want only #rev", got)
	}
}
