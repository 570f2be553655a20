package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/metrics"
	"github.com/batonhq/baton/internal/oncall"
)

// The one on-call board answers the engine's rotation targets.
var _ escalation.Board = (*oncall.Board)(nil)

// guardedRunner is the incident store as the runner sees it: the one
// step of the runner that issues incident numbers, a heartbeat's missed
// deadline, goes through the epoch watch as intake's opens do.
type guardedRunner struct {
	*incident.Store
	watch *redisWatch
}

// CheckHeartbeat decides a heartbeat's deadline job on the epoch this
// replica knows: refused for a changed epoch (nothing changed), it is run
// again once after the epoch check; a number it opens raises the highest seen.
func (g guardedRunner) CheckHeartbeat(ctx context.Context, j incident.Job, h incident.Heartbeat, now time.Time) (incident.HeartbeatCheck, error) {
	if g.watch.epoch.get() == "" {
		if err := g.watch.ensure(ctx, ""); err != nil {
			return incident.HeartbeatCheck{}, err
		}
	}
	known := g.watch.epoch.get()
	c, err := g.Store.CheckHeartbeat(ctx, j, h, now)
	if errors.Is(err, incident.ErrEpochChanged) {
		if verr := g.watch.ensure(ctx, known); verr != nil {
			return c, err
		}
		c, err = g.Store.CheckHeartbeat(ctx, j, h, now)
	}
	if err == nil && c.Outcome == "opened" {
		g.watch.see(c.Opened.Number)
	}
	return c, err
}

// newEngine builds the escalation engine: the runner that claims due jobs
// from the incident store, decides (escalation.Decide) and pages. The chat
// side, when there is one, is both its Pager (DMs) and its chat sync
// (channels, cards, notices), in both chats when Slack and Discord run at
// once (one engine, one decision, delivered in each); without one, pages
// go to the log.
func newEngine(d *domain, st *stores, watch *redisWatch, board *oncall.Board, chat *chatSide, wake *escalation.Wakeup, m *metrics.Metrics, log *slog.Logger, o AppOptions) (*escalation.Runner, error) {
	// chatSync must stay an untyped nil interface when there is no chat.
	var chatSync escalation.ChatSync
	// Page-ins and maintenance summaries go through the chat's Pager
	// itself, whatever wraps or replaces the pages' Pager (nil: the log).
	var pageIns escalation.PageInPager
	var notices escalation.MaintenanceNotifier
	var leases escalation.LeaseNotifier // the ack lease's "still on it?" DMs
	pager := o.Pager
	if chat != nil {
		// One Bot's Syncer and Pager, or both chats' (bot.Multi).
		e := chat.engine()
		chatSync, pageIns, notices, leases = e, e, e, e
		if pager == nil {
			pager = e
		}
	}
	if pager == nil {
		pager = &escalation.LogPager{Log: log}
	}
	runner, err := escalation.NewRunner(escalation.Options{
		Chat:         chatSync,
		Metrics:      m,
		Incidents:    guardedRunner{Store: st.incidents, watch: watch},
		Wakeup:       wake,
		Pager:        pager,
		Policies:     d.policies,
		Board:        board,
		Heartbeats:   d.heartbeat,
		PageIns:      pageIns,
		Maintenance:  notices,
		Leases:       leases,
		Emailer:      d.emailer,
		Shifts:       chat.shiftKeeper(),
		PollInterval: o.PollInterval,
		RetryMin:     o.RetryMin,
		RetryMax:     o.RetryMax,
		Lease:        d.runner.lease,
		Workers:      d.runner.workers,
		ReplicaID:    d.runner.replicaID,
		Log:          log,
		Now:          o.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("escalation: %w", err)
	}
	return runner, nil
}
