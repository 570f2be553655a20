package main

import (
	"fmt"
	"log/slog"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/internal/metrics"
	"github.com/batonhq/baton/internal/oncall"
)

// The one on-call board answers the engine's rotation targets.
var _ escalation.Board = (*oncall.Board)(nil)

// newEngine builds the escalation engine: the runner that claims due jobs
// from the incident store, decides (escalation.Decide) and pages. The chat
// side, when there is one, is both its Pager (DMs) and its chat sync
// (channels, cards, notices); without one, pages go to the log.
func newEngine(d *domain, st *stores, board *oncall.Board, chat *chatSide, wake *escalation.Wakeup, m *metrics.Metrics, log *slog.Logger, o AppOptions) (*escalation.Runner, error) {
	// chatSync must stay an untyped nil interface when there is no chat.
	var chatSync escalation.ChatSync
	pager := o.Pager
	if chat != nil {
		chatSync = chat.bot.Syncer()
		if pager == nil {
			pager = chat.bot.Pager()
		}
	}
	if pager == nil {
		pager = &escalation.LogPager{Log: log}
	}
	runner, err := escalation.NewRunner(escalation.Options{
		Chat:         chatSync,
		Metrics:      m,
		Incidents:    st.incidents,
		Wakeup:       wake,
		Pager:        pager,
		Policies:     d.policies,
		Board:        board,
		Heartbeats:   d.heartbeat,
		PollInterval: o.PollInterval,
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
