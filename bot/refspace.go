package bot

import (
	"context"
	"strings"
)

// refSpaceSep joins a RefSpace to a field of an incident's chat references.
// No field of the unprefixed layout contains it (fields are short names,
// and "p:", "b:", "m:" followed by Slack or Discord ids).
const refSpaceSep = "|"

// spacedIncidents is the incident store as a Bot with a RefSpace sees it:
// its fields of an incident's chat references carry the prefix
// "<space>|", so two Bots on one Redis (Slack and Discord at once) each
// keep their own channel, card, notice, pages and posting marks for one
// incident. With the space "" it keeps the unprefixed layout (Slack's,
// from before two chats existed: existing incidents keep their channel and
// card) and hides every prefixed field. Chat links need no space: their
// refs already start with the chat's name (Bot.chanRef).
type spacedIncidents struct {
	Incidents
	space string
	// channel: SetChannel records the incident's channel (Incident.Channel);
	// false leaves that field to the other chat.
	channel bool
}

func (s spacedIncidents) field(f string) string {
	if s.space == "" {
		return f
	}
	return s.space + refSpaceSep + f
}

// ChatRefs returns this space's fields, without their prefix.
func (s spacedIncidents) ChatRefs(ctx context.Context, n int64) (map[string]string, error) {
	all, err := s.Incidents.ChatRefs(ctx, n)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(all))
	for f, v := range all {
		if s.space == "" {
			if !strings.Contains(f, refSpaceSep) {
				out[f] = v
			}
			continue
		}
		if rest, ok := strings.CutPrefix(f, s.space+refSpaceSep); ok {
			out[rest] = v
		}
	}
	return out, nil
}

// SetChatRefs writes fields of this space.
func (s spacedIncidents) SetChatRefs(ctx context.Context, n int64, fields map[string]string) error {
	if s.space == "" {
		return s.Incidents.SetChatRefs(ctx, n, fields)
	}
	m := make(map[string]string, len(fields))
	for f, v := range fields {
		m[s.field(f)] = v
	}
	return s.Incidents.SetChatRefs(ctx, n, m)
}

// SetChannel records the incident's channel unless the other chat does.
func (s spacedIncidents) SetChannel(ctx context.Context, n int64, ref string) error {
	if !s.channel {
		return nil
	}
	return s.Incidents.SetChannel(ctx, n, ref)
}
