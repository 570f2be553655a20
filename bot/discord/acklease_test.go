package discord_test

import (
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
)

// A message by the owner in an acknowledged incident's channel renews
// their ack lease (MESSAGE_CREATE); a stranger's, and the owner's in
// another channel, do not.
func TestMessageRenewsTheAckLease(t *testing.T) {
	s := newStory(t, time.Hour)
	n := s.open("db-1", "payments down")
	ch, _ := s.card("inc-1-payments")
	s.waitFor("dana's page", func() bool { return len(s.dms(s.dana)) == 1 })
	page := s.dms(s.dana)[0]
	if err := s.fake.React(s.dana.ID, page.ChannelID, page.ID, "✅"); err != nil {
		t.Fatal(err)
	}
	s.waitFor("the ack", func() bool { return s.incident(n).Status == incident.StatusAcknowledged })
	leaseAt := func() time.Time {
		_, st, err := s.svc.LoadEscalation(s.ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		return st.LeaseAt
	}
	seen := func(k int) {
		s.waitFor("messages seen", func() bool { return strings.Count(s.log.String(), "channel message seen") >= k })
	}
	for _, p := range []struct{ user, channel string }{{s.mal.ID, ch}, {s.dana.ID, s.alerts.ID}} {
		if _, err := s.fake.Post(p.user, p.channel, "secret-words"); err != nil {
			t.Fatal(err)
		}
	}
	seen(2)
	if !leaseAt().IsZero() {
		t.Fatal("renewed by a stranger's message or one in another channel")
	}
	if _, err := s.fake.Post(s.dana.ID, ch, "secret-words from the owner"); err != nil {
		t.Fatal(err)
	}
	s.waitFor("the lease renewed", func() bool { return !leaseAt().IsZero() })
	if strings.Contains(s.log.String(), "secret-words") {
		t.Fatal("a message's content reached the log")
	}
}
