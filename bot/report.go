package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/batonhq/baton/analytics"
	"github.com/batonhq/baton/analytics/chart"
	"github.com/batonhq/baton/analytics/digest"
	"github.com/batonhq/baton/escalation"
)

// Summary is a report as a chat message: a title, one line per figure and
// an optional footer. The adapter renders it (a header and bullets on Slack).
type Summary struct {
	Title  string
	Lines  []string
	Footer string
}

// Text is the summary as plain text: the title, then a bullet per line.
func (s Summary) Text() string {
	var b strings.Builder
	b.WriteString(s.Title)
	for _, l := range s.Lines {
		b.WriteString("\n• " + l)
	}
	if s.Footer != "" {
		b.WriteString("\n" + s.Footer)
	}
	return b.String()
}

// Analytics is what /incident stats reads: the incidents' facts, the zone
// of report days and weeks, and each person's zone (for out-of-hours pages).
type Analytics struct {
	Source     analytics.Source
	Zone       *time.Location
	PersonZone func(person string) *time.Location
}

// stats answers /incident stats: the report of the last cmd.Days days
// (by day up to two weeks, by week beyond), compared with the period
// before, posted in the channel the command was typed in as a summary
// and a chart. Where baton cannot post (it is not in the channel), the
// person who asked gets the summary privately and is told why.
func (x *Executor) stats(ctx context.Context, cmd Command, req Request) Reply {
	a := x.c.analytics
	if a == nil || a.Source == nil {
		return Reply{Text: "baton's analytics are not set up here, so there are no stats to show."}
	}
	if cmd.Service != "" {
		if _, ok := x.c.services[cmd.Service]; !ok {
			return Reply{Text: fmt.Sprintf("There is no service %q. Services: %s.", cmd.Service, strings.Join(x.c.serviceNames, ", "))}
		}
	}
	zone := a.Zone
	if zone == nil {
		zone = time.UTC
	}
	from, to, err := analytics.ParseRange(fmt.Sprintf("%dd", cmd.Days), "", x.c.now(), zone)
	if err != nil {
		return x.fail(err)
	}
	by := analytics.ByWeek
	if cmd.Days <= 14 {
		by = analytics.ByDay
	}
	r, err := analytics.Build(ctx, a.Source, analytics.Query{From: from, To: to, Service: cmd.Service, By: by, Zone: zone, PersonZone: a.PersonZone})
	if err != nil {
		return x.fail(err)
	}
	png, err := chart.PNG(r, 0, 0)
	if err != nil {
		x.log().Error("bot: stats chart not drawn", "err", err)
		return Reply{Text: "baton could not draw the stats chart; retry in a moment."}
	}
	scope := "all services"
	if cmd.Service != "" {
		scope = cmd.Service
	}
	sum := Summary{
		Title:  fmt.Sprintf("Incident stats: last %d days, %s", cmd.Days, scope),
		Lines:  r.Summary(),
		Footer: fmt.Sprintf("Asked for by %s · by %s in %s · /incident stats 30d service=S for another view", x.requester(ctx, req.User), by, r.Zone),
	}
	f := File{
		Name:    fmt.Sprintf("incident-stats-%dd.png", cmd.Days),
		Title:   fmt.Sprintf("MTTA and MTTR per %s, incidents opened as bars (last %d days, %s)", by, cmd.Days, scope),
		AltText: "Chart of " + strings.Join(r.Headline(), "; "),
		Data:    png,
	}
	if chID, err := x.c.postReport(ctx, req.Channel, sum, f); err != nil {
		switch {
		case chID != "":
			x.log().Warn("stats posted without their chart", "err", err)
			return Reply{Text: "The stats are posted, but their chart could not be uploaded. " +
				"If this keeps happening, " + x.c.uploadAdvice() + "."}
		case escalation.IsPermanent(err):
			x.log().Info("stats not posted in the channel; answered privately", "err", err)
			return Reply{Text: sum.Text() + "\n\nbaton could not post these stats and their chart in this channel (it is not a member, or the channel is archived). " +
				"Invite baton to the channel, or type the command in one it is in."}
		}
		// A chat failure, not the store's: say so, keep the detail for the log.
		x.log().Error("bot: stats not posted", "err", err)
		return Reply{Text: "baton could not post the stats in chat just now; retry in a moment."}
	}
	x.log().Info("stats posted", "days", cmd.Days, "service", cmd.Service)
	return Reply{}
}

// requester names who typed a command: their name from people, else a
// chat mention the adapter renders.
func (x *Executor) requester(ctx context.Context, chatID string) string {
	if p, ok, err := x.c.people.Person(ctx, chatID); err == nil && ok {
		return p.Name
	}
	return "a teammate"
}

// postReport posts a summary in a channel (an id, or a name as the chat
// accepts it) and then its chart beside it, and returns the channel's id.
// A chart that cannot be uploaded after the summary was posted is
// reported as an error too; the summary stays.
// A call the chat answers with a short rate limit (a wait of at most
// reportPatience, within reportBudget in all) is made again after the wait
// the chat asked for: the person who typed the command is waiting for it.
func (c *Bot) postReport(ctx context.Context, channel string, s Summary, f File) (string, error) {
	budget := reportBudget
	var chID string
	err := retryShort(ctx, &budget, func() error {
		var err error
		chID, _, err = c.chat.Post(ctx, channel, Message{Text: s.Text(), Summary: &s})
		return err
	})
	if err != nil {
		return "", fmt.Errorf("summary: %w", err)
	}
	if len(f.Data) == 0 {
		return chID, nil
	}
	if err := retryShort(ctx, &budget, func() error { return c.chat.Upload(ctx, chID, f) }); err != nil {
		return chID, fmt.Errorf("chart: %w", err)
	}
	return chID, nil
}

// reportPatience is the longest rate-limit wait a report waits out before
// trying its post again; reportBudget bounds all its waits together.
const (
	reportPatience = 5 * time.Second
	reportBudget   = 10 * time.Second
)

// retryShort runs call, and again after each rate limit (an error carrying
// escalation.RetryAfterError) whose wait is at most reportPatience and fits
// in what is left of budget, which it spends. Other errors, and longer
// waits, are returned as they are.
func retryShort(ctx context.Context, budget *time.Duration, call func() error) error {
	for {
		err := call()
		var ra escalation.RetryAfterError
		if err == nil || !errors.As(err, &ra) {
			return err
		}
		wait := max(ra.RetryAfter(), 100*time.Millisecond)
		if wait > reportPatience || wait > *budget {
			return err
		}
		*budget -= wait
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// UploadAdvisor is what a Chat may add: what to check, in that chat's
// words, when a file cannot be uploaded ("check that the Slack app has
// the files:write scope").
type UploadAdvisor interface {
	// UploadAdvice is a clause that follows "If this keeps happening, ".
	UploadAdvice() string
}

// uploadAdvice is the chat's UploadAdvice, or chat-neutral words.
func (c *Bot) uploadAdvice() string {
	if a, ok := c.chat.(UploadAdvisor); ok {
		return a.UploadAdvice()
	}
	return "check that baton may upload files in this chat"
}

// PostDigest implements digest.Poster: the weekly digest as a summary in
// channel, its chart beside it.
func (c *Bot) PostDigest(ctx context.Context, channel string, d digest.Digest) error {
	if channel == "" {
		return errors.New("bot: no digest channel")
	}
	s := Summary{Title: d.Title, Lines: d.Lines, Footer: "Posted every Monday by baton · /incident stats for any other period"}
	f := File{
		Name:    "weekly-digest-" + d.Report.From.Format("2006-01-02") + ".png",
		Title:   "MTTA and MTTR per day, incidents opened as bars",
		AltText: "Chart of " + strings.Join(d.Report.Headline(), "; "),
		Data:    d.Chart,
	}
	_, err := c.postReport(ctx, channel, s, f)
	return err
}

var _ digest.Poster = (*Bot)(nil)
