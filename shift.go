package main

import (
	"context"
	"log/slog"
	"slices"
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
	zones := map[string]*time.Location{}
	for _, p := range cfg.People {
		if p.Email != "" && d.emailer != nil {
			emails[p.ID] = true
		}
		if loc, err := time.LoadLocation(p.Timezone); p.Timezone != "" && err == nil {
			zones[p.ID] = loc
		}
	}
	return b.Shifts(bot.ShiftOptions{
		Rotations: d.rotations, Policies: d.handoffs, Store: st.overrides, Jobs: st.incidents,
		ServiceRotation:  board.ServiceRotation,
		RotationServices: rotationServices(d.policies, cfg),
		Secondary:        secondaries(d.policies, cfg, board, d.rotations),
		Emailable:        func(person string) bool { return emails[person] },
		Zone:             func(person string) *time.Location { return zones[person] },
	})
}

// rotationServices maps each rotation to the services whose escalation
// policy names it at any level (as rotation:R or rotation:R/next), in the
// config's order: whose alerts channels hear about its handoffs.
func rotationServices(pols escalation.Policies, cfg *Config) map[string][]string {
	out := map[string][]string{}
	for _, svc := range cfg.Services {
		pol, _, ok := pols(svc.Name)
		if !ok {
			continue
		}
		for _, l := range pol.Levels {
			for _, t := range l.Targets {
				if t.Kind == rotations.TargetRotation && !slices.Contains(out[t.Name], svc.Name) {
					out[t.Name] = append(out[t.Name], svc.Name)
				}
			}
		}
	}
	return out
}

// secondaries names a rotation's secondary: for each service whose policy
// pages the rotation at some level, whoever the level after the first such
// one names at at (overrides applied), in the config's order of services,
// without repeats. The people on either side of the handoff (who holds
// the pager at at, who the schedule puts on) are not their own secondary:
// a rotation:R/next that names one of them is followed on to the next
// handoff whose person is someone else.
func secondaries(pols escalation.Policies, cfg *Config, board *oncall.Board, rots map[string]*rotations.Rotation) func(ctx context.Context, rotation string, at time.Time) []string {
	return func(ctx context.Context, rotation string, at time.Time) []string {
		var out []string
		seen := map[string]bool{}
		if r := rots[rotation]; r != nil {
			if sh, err := r.ShiftAt(at); err == nil && sh.Person != "" {
				seen[sh.Person] = true // the incoming person
			}
		}
		if res, _, err := board.Resolver(ctx, []string{rotation}, at); err == nil {
			for _, t := range []time.Time{at.Add(-time.Second), at} {
				if p, ok, _ := res(rotations.Target{Kind: rotations.TargetRotation, Name: rotation}, t); ok {
					seen[p] = true // who held the pager, who holds it at at
				}
			}
		}
		for _, svc := range cfg.Services {
			pol, _, ok := pols(svc.Name)
			if !ok {
				continue
			}
			i := slices.IndexFunc(pol.Levels, func(l escalation.Level) bool { return pagesRotation(l, rotation) })
			if i < 0 || i+1 >= len(pol.Levels) {
				continue
			}
			next := pol.Levels[i+1]
			var names []string
			for _, t := range next.Targets {
				if t.Kind == rotations.TargetRotation {
					names = append(names, t.Name)
				}
			}
			res, _, err := board.Resolver(ctx, names, at)
			if err != nil {
				continue
			}
			for _, t := range next.Targets {
				p, ok, _ := res(t, at)
				// rotation:R/next naming someone on either side of the
				// handoff: the handoff after, until someone else.
				for when, tries := at, 0; ok && seen[p] && t.Next && tries < 16; tries++ {
					r := rots[t.Name]
					if r == nil {
						break
					}
					when, _, _ = rotations.NextHandoff(r, when)
					p, ok, _ = res(t, when)
				}
				if ok && !seen[p] {
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
