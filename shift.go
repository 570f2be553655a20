package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/batonhq/baton/bot"
	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/internal/oncall"
	"github.com/batonhq/baton/rotations"
)

// Maximum handoff settings of a rotation (config.yaml's preshift_check and
// handoff_accept).
const (
	MaxPreshiftCheck = 7 * 24 * time.Hour
	MaxHandoffAccept = 24 * time.Hour
)

// Take it makes the board forget a rotation's cached overrides (bot/shift.go).
var _ bot.BoardForgetter = (*oncall.Board)(nil)

// handoffPolicies are the rotations' handoff settings, for those that have any.
func (c *Config) handoffPolicies() map[string]rotations.HandoffPolicy {
	out := map[string]rotations.HandoffPolicy{}
	for _, r := range c.Rotations {
		if r.PreshiftCheck > 0 || r.HandoffAccept > 0 {
			out[r.Name] = rotations.HandoffPolicy{PreshiftCheck: r.PreshiftCheck, HandoffAccept: r.HandoffAccept}
		}
	}
	return out
}

// newShifts builds the chat's handoff steps (pre-shift checks, accepted
// handoffs) when a rotation has handoff settings; nil otherwise.
func newShifts(cfg *Config, d *domain, st *stores, board *oncall.Board, b *bot.Bot) *bot.Shifts {
	emails := map[string]bool{}
	for _, p := range cfg.People {
		if p.Email != "" && d.emailer != nil {
			emails[p.ID] = true
		}
	}
	return b.Shifts(bot.ShiftOptions{
		Rotations: d.rotations, Policies: d.handoffs, Store: st.overrides, Jobs: st.incidents,
		ServiceRotation: board.ServiceRotation,
		Secondary:       secondaries(d.policies, cfg, board),
		Emailable:       func(person string) bool { return emails[person] },
	})
}

// secondaries names a rotation's secondary: whoever the second level of
// each service's policy whose first level pages the rotation names at at
// (overrides applied), in the config's order of services, without repeats.
func secondaries(pols escalation.Policies, cfg *Config, board *oncall.Board) func(ctx context.Context, rotation string, at time.Time) []string {
	return func(ctx context.Context, rotation string, at time.Time) []string {
		var out []string
		seen := map[string]bool{}
		for _, svc := range cfg.Services {
			pol, _, ok := pols(svc.Name)
			if !ok || len(pol.Levels) < 2 || !pagesRotation(pol.Levels[0], rotation) {
				continue
			}
			var names []string
			for _, t := range pol.Levels[1].Targets {
				if t.Kind == rotations.TargetRotation {
					names = append(names, t.Name)
				}
			}
			res, _, err := board.Resolver(ctx, names, at)
			if err != nil {
				continue
			}
			for _, t := range pol.Levels[1].Targets {
				if p, ok, _ := res(t, at); ok && !seen[p] {
					seen[p] = true
					out = append(out, p)
				}
			}
		}
		return out
	}
}

func pagesRotation(l escalation.Level, rotation string) bool {
	for _, t := range l.Targets {
		if t.Kind == rotations.TargetRotation && t.Name == rotation && !t.Next {
			return true
		}
	}
	return false
}

// shiftKeeper is the runner's escalation.ShiftKeeper: the chat's handoff
// steps, or an untyped nil without them.
func (c *chatSide) shiftKeeper() escalation.ShiftKeeper {
	if c == nil || c.shifts == nil {
		return nil
	}
	return c.shifts
}

// scheduleShifts queues the next handoff steps of every rotation with
// handoff settings, retrying every few seconds while Redis does not answer
// (steps already queued keep their due time, so a restart changes nothing).
func scheduleShifts(ctx context.Context, s *bot.Shifts, now func() time.Time, log *slog.Logger) {
	for {
		err := s.Schedule(ctx, now())
		if err == nil {
			return
		}
		log.Warn("handoff steps not scheduled yet; retrying", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
}
