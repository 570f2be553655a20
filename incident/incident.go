// Package incident holds baton's domain: alerts as they arrive, incidents as
// responders see them, the timeline of what happened, and the lifecycle rules
// between states. The Redis store that keeps them lives beside it (store.go,
// jobs.go, chat.go and the Lua scripts under lua/), so the package imports
// go-redis; it imports no chat SDK, no viper and no gocron.
//
// The incident key schema is defined here and nowhere else (the top of
// store.go). Code that must read the keys directly rather than through a
// Store, analytics/redisstore's bulk scans, gets their names from Layout and
// never spells them itself.
package incident

import (
	"fmt"
	"time"
)

// Severity ranks how urgent an alert or incident is.
type Severity string

// The severities baton knows, most urgent first.
const (
	SevCritical Severity = "critical"
	SevWarning  Severity = "warning"
	SevInfo     Severity = "info"
)

// Valid reports whether s is one of the known severities.
func (s Severity) Valid() bool {
	return s == SevCritical || s == SevWarning || s == SevInfo
}

// rank orders severities so that an incident takes the worst of its alerts.
func (s Severity) rank() int {
	switch s {
	case SevCritical:
		return 3
	case SevWarning:
		return 2
	case SevInfo:
		return 1
	}
	return 0
}

// AlertStatus says whether the source reports the condition as present or gone.
type AlertStatus string

// Alert statuses.
const (
	AlertFiring   AlertStatus = "firing"
	AlertResolved AlertStatus = "resolved"
)

// Link is a labelled URL carried from the source (the query, the alarm, a runbook).
type Link struct {
	Text string `json:"text,omitempty"`
	URL  string `json:"url"`
}

// Alert is one notification from a monitoring source, normalised. Intake builds
// it; Store.Open turns it into an incident or adds it to an open one.
type Alert struct {
	Source     string         `json:"source"`    // sumologic, cloudwatch, generic, chat
	Service    string         `json:"service"`   // baton service name; empty until routed
	Name       string         `json:"name"`      // monitor / alarm / search name, used by routing rules
	DedupKey   string         `json:"dedup_key"` // same key + same service + still open = same incident
	Summary    string         `json:"summary"`   // one line, becomes the incident title
	Severity   Severity       `json:"severity"`
	Status     AlertStatus    `json:"status"`
	Details    map[string]any `json:"details,omitempty"`
	Links      []Link         `json:"links,omitempty"`
	ReceivedAt time.Time      `json:"received_at"`
	// SourceTime is when the source says the state changed (Sumo Logic's
	// TriggerTime, CloudWatch's StateChangeTime, the generic timestamp). It
	// orders a firing alert against a recovery that overtook it on the way
	// (Store.Open); zero means ReceivedAt.
	SourceTime time.Time `json:"source_time,omitzero"`
	// Sealed is the raw payload as received, sealed (privacy.Sealer's
	// envelope; "" for none). The store keeps it, in the same step as the
	// alert, for WithSealTTL; only GET /v1/incidents/{n}/raw opens it.
	Sealed string `json:"-"`
}

// Status is where an incident is in its lifecycle.
type Status string

// Incident statuses. Open means any status but resolved.
const (
	StatusTriggered    Status = "triggered"
	StatusAcknowledged Status = "acknowledged"
	StatusResolved     Status = "resolved"
)

// Incident is the unit of ownership: one problem, one owner, one timeline.
type Incident struct {
	Number     int64    `json:"number"`
	Service    string   `json:"service"`
	Title      string   `json:"title"`
	Severity   Severity `json:"severity"`
	Status     Status   `json:"status"`
	Owner      string   `json:"owner,omitempty"`
	Level      int      `json:"level"` // escalation level, 1-based; 0 before the first page
	AlertCount int64    `json:"alert_count"`
	// Grouped is how many alerts with other dedup keys joined the incident
	// by its service's grouping (Grouping); 0 for an ungrouped incident.
	Grouped      int64     `json:"grouped,omitempty"`
	Source       string    `json:"source"`
	DedupKey     string    `json:"dedup_key"`
	Links        []Link    `json:"links,omitempty"`
	FirstSeen    time.Time `json:"first_seen"`
	LastSeen     time.Time `json:"last_seen"`
	Created      time.Time `json:"created"`
	Acknowledged time.Time `json:"acknowledged,omitzero"`
	Resolved     time.Time `json:"resolved,omitzero"`
	Channel      string    `json:"channel,omitempty"` // chat channel reference, set by the bot
	// Sealed says the raw payload of an alert of the incident was sealed
	// (WithSealTTL): chat says it can be seen through the API. It stays
	// true after the payloads expire.
	Sealed bool `json:"sealed,omitempty"`
	// Held names the maintenance window holding the incident (opened while
	// its service was in maintenance: nobody paged, no channel, until the
	// window ends); "" when none.
	Held string `json:"held,omitempty"`
	// PagedIn are the people paged into the incident besides its owner
	// (Store.PageIn), by person; only Get fills it. Those who acknowledged
	// their page are its responders.
	PagedIn []PagedIn `json:"paged_in,omitempty"`
}

// Ref is the human name of an incident, INC-42.
func (i *Incident) Ref() string { return fmt.Sprintf("INC-%d", i.Number) }

// Open reports whether the incident still needs someone.
func (i *Incident) Open() bool { return i.Status != StatusResolved }

// EventType names a timeline entry. The strings are part of the HTTP API.
type EventType string

// Timeline event types, stable in the API's JSON.
const (
	EventOpened       EventType = "opened"
	EventRepeated     EventType = "repeated"
	EventPaged        EventType = "paged"
	EventEscalated    EventType = "escalated"
	EventAcknowledged EventType = "acknowledged"
	EventReassigned   EventType = "reassigned"
	EventResolved     EventType = "resolved"
	EventRetriggered  EventType = "retriggered"
	EventNote         EventType = "note"
	EventPageFailed   EventType = "page_failed"
	// EventGrouped: alerts with other dedup keys joined the incident
	// (Grouping). Joins within a minute of each other are one entry, with
	// Count and Last as a run of re-pages; Note is "alert count <n>".
	EventGrouped EventType = "grouped"
	// EventAlertRecovered: one alert of a grouped incident recovered while
	// others in it still fire; Note is "<n> still firing". Folded as
	// EventGrouped.
	EventAlertRecovered EventType = "alert_recovered"
	// EventRawViewed: someone read the incident's sealed raw payloads
	// through the API (GET /v1/incidents/{n}/raw); By is who, Note how
	// many payloads were opened.
	EventRawViewed EventType = "raw_viewed"
)

// Event is one line of an incident's timeline: who did what, when.
type Event struct {
	Type   EventType `json:"type"`
	At     time.Time `json:"at"`
	Person string    `json:"person,omitempty"` // whom it concerns (paged, assigned)
	By     string    `json:"by,omitempty"`     // who did it (a person id, or a source such as "sumologic")
	Level  int       `json:"level,omitempty"`
	Note   string    `json:"note,omitempty"`
	// Count is, for a run of re-pages (EventPaged with Note "repeat") to one
	// person at one level, how many re-pages this one entry stands for (1
	// or more), and for EventGrouped and EventAlertRecovered how many alerts
	// joined or recovered in the entry's minute; 0 for every other event,
	// which is one. At is then the first of the run and Last the latest.
	Count int64     `json:"count,omitempty"`
	Last  time.Time `json:"last,omitzero"`
	// Bundle, on a "paged" event, names the message that carried this page
	// together with others to the same person (bot.Pager's bundles: one
	// direct message for many incidents); every incident of one bundle has
	// an event with the same Bundle and At. Empty for a page sent alone. A
	// run of re-pages keeps its first page's.
	Bundle string `json:"bundle,omitempty"`
	// Chats, on a "paged" event, are the chats the page went to when
	// baton serves more than one, comma-separated ("slack,discord"; a
	// person reachable in one only is paged there); empty with one chat.
	// One page decision is one event, however many chats it reached.
	// (A string, so Event stays comparable.)
	Chats string `json:"chats,omitempty"`
}
