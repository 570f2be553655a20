package fakeslack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"time"
)

// Call is one recorded Web API request and the fake's answer to it.
type Call struct {
	Seq    int        `json:"seq"` // 1, 2, 3… across all methods, in arrival order
	Method string     `json:"method"`
	At     time.Time  `json:"at"`
	Params url.Values `json:"params"` // form, query or JSON fields; the token removed
	// Blocks is the "blocks" parameter decoded (nil when absent or invalid),
	// for assertions like Blocks[0]["type"] == "header".
	Blocks []map[string]any `json:"blocks,omitempty"`
	Status int              `json:"status"` // HTTP status of the answer
	OK     bool             `json:"ok"`
	// Error is the Slack error code of an ok:false answer, "ratelimited" for
	// a 429, and empty for a 5xx (see Status).
	Error string `json:"error,omitempty"`
	// Fault is true when the answer came from FailNext, InjectFaults or the
	// rate-limit model rather than from the method itself.
	Fault    bool            `json:"fault,omitempty"`
	Response json.RawMessage `json:"response,omitempty"` // the JSON body sent back
}

// Param returns the first value of a request parameter.
func (c Call) Param(name string) string { return c.Params.Get(name) }

// EventKind names a change in the fake.
type EventKind string

// The kinds of Event. Detail carries the reaction name, the method, the
// envelope id, the channel name or the file id, as noted.
const (
	EventUserAdded       EventKind = "user_added"
	EventChannelCreated  EventKind = "channel_created" // Detail: channel name
	EventChannelArchived EventKind = "channel_archived"
	EventMembersChanged  EventKind = "members_changed" // User: the user who joined or left
	EventTopicSet        EventKind = "topic_set"       // Detail: the topic
	EventIMOpened        EventKind = "im_opened"
	EventMessagePosted   EventKind = "message_posted"
	EventMessageUpdated  EventKind = "message_updated"
	EventMessageDeleted  EventKind = "message_deleted"
	EventEphemeral       EventKind = "ephemeral_posted"
	EventPinAdded        EventKind = "pin_added"
	EventReactionAdded   EventKind = "reaction_added" // Detail: reaction name
	EventFileShared      EventKind = "file_shared"    // Detail: file id
	EventCall            EventKind = "api_call"       // Detail: method
	EventEnvelopeSent    EventKind = "envelope_sent"  // Detail: envelope id
	EventEnvelopeAcked   EventKind = "envelope_acked" // Detail: envelope id
	EventResponseURL     EventKind = "response_url"   // Detail: envelope id
	EventConnected       EventKind = "socket_connected"
	EventDisconnected    EventKind = "socket_disconnected"
)

// Event is one entry of the change feed.
type Event struct {
	Seq     int       `json:"seq"`
	Kind    EventKind `json:"kind"`
	At      time.Time `json:"at"`
	Channel string    `json:"channel,omitempty"`
	TS      string    `json:"ts,omitempty"`
	User    string    `json:"user,omitempty"`
	Detail  string    `json:"detail,omitempty"`
}

// emit stamps an event, hands it to every subscriber and wakes every WaitFor.
// Callers hold s.mu, which gives every subscriber the same order.
func (s *Server) emit(e Event) {
	s.eventSeq++
	e.Seq = s.eventSeq
	e.At = s.now()
	for _, sub := range s.subs {
		sub.q.push(e)
	}
	s.bump()
}

// Subscribe returns a feed of every change from now on and a cancel function
// that ends it. The feed never drops events and never blocks the server: each
// subscriber has its own unbounded queue. The channel is closed by cancel or
// by Close.
func (s *Server) Subscribe() (<-chan Event, func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(chan Event)
	sub := &subscriber{q: newQueue[Event](), done: make(chan struct{})}
	if s.closed {
		close(out)
		return out, func() {}
	}
	s.nextSub++
	id := s.nextSub
	s.subs[id] = sub
	s.wg.Go(func() {
		defer close(out)
		for {
			e, ok := sub.q.pop(sub.done)
			if !ok {
				return
			}
			select {
			case out <- e:
			case <-sub.done:
				return
			}
		}
	})
	return out, func() {
		s.mu.Lock()
		delete(s.subs, id)
		s.mu.Unlock()
		sub.cancel()
	}
}

type subscriber struct {
	q    *queue[Event]
	done chan struct{}
	once sync.Once
}

func (s *subscriber) cancel() { s.once.Do(func() { close(s.done) }) }

// Calls returns the recorded Web API calls to method, oldest first; "" returns
// every call.
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.callsLocked(method)
}

func (s *Server) callsLocked(method string) []Call {
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			c.Params = cloneValues(c.Params)
			c.Response = slices.Clone(c.Response)
			out = append(out, c)
		}
	}
	return out
}

// ResetCalls forgets the recorded calls (the workspace stays), so a test can
// seed through the API and then assert only on what follows.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// WaitFor blocks until cond returns true or ctx ends. cond is evaluated now
// and again after every change to the fake (call, state change, ack, …); it
// runs without the server's lock held, so it may call any Server method.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		changed := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("fakeslack: wait: %w", ctx.Err())
		}
	}
}

// WaitCalls waits until at least n calls to method are recorded and returns
// all of them. ok:false and faulted calls count too.
func (s *Server) WaitCalls(ctx context.Context, method string, n int) ([]Call, error) {
	var calls []Call
	err := s.WaitFor(ctx, func() bool {
		calls = s.Calls(method)
		return len(calls) >= n
	})
	if err != nil {
		return calls, fmt.Errorf("fakeslack: %d of %d calls to %s: %w", len(calls), n, method, err)
	}
	return calls, nil
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// queue is an unbounded FIFO with a blocking pop: producers never wait, so the
// server can feed a slow subscriber or a slow socket while holding its lock.
type queue[T any] struct {
	mu    sync.Mutex
	items []T
	ready chan struct{} // holds one token while items may be non-empty
}

func newQueue[T any]() *queue[T] { return &queue[T]{ready: make(chan struct{}, 1)} }

func (q *queue[T]) push(v T) {
	q.mu.Lock()
	q.items = append(q.items, v)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// pop returns the oldest item, waiting for one until done is closed.
func (q *queue[T]) pop(done <-chan struct{}) (T, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			v := q.items[0]
			var zero T
			q.items[0] = zero
			q.items = q.items[1:]
			q.mu.Unlock()
			return v, true
		}
		q.mu.Unlock()
		select {
		case <-q.ready:
		case <-done:
			var zero T
			return zero, false
		}
	}
}
