package fakediscord

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"strconv"
	"time"
)

// Fault is an answer the fake gives instead of running a route. A faulted
// call changes nothing: a 429'd message post posts no message.
type Fault struct {
	// Status is the HTTP status: 429, or a 5xx such as 500, 502 or 503.
	Status int
	// RetryAfter, with Status 429, is the body's retry_after (seconds with
	// milliseconds) and the Retry-After header (whole seconds, rounded up).
	RetryAfter time.Duration
	// Global, with Status 429, marks the global limit: "global": true in the
	// body, X-RateLimit-Global: true and X-RateLimit-Scope: global.
	Global bool
	// Applied runs the route first (its effect stays: a message is posted)
	// and then answers the fault, as when Discord did the work but the
	// answer was lost (a timeout, a 5xx from a proxy): the outcome is
	// unknown to the client.
	Applied bool
}

// TooManyRequests is a per-route 429, as a bucket's limit answers it
// (discordgo sleeps retryAfter and retries, or returns
// *discordgo.RateLimitError when ShouldRetryOnRateLimit is false).
func TooManyRequests(retryAfter time.Duration) Fault {
	return Fault{Status: http.StatusTooManyRequests, RetryAfter: retryAfter}
}

// GlobalRateLimit is a 429 of the global limit (50 requests a second for the
// whole bot).
func GlobalRateLimit(retryAfter time.Duration) Fault {
	return Fault{Status: http.StatusTooManyRequests, RetryAfter: retryAfter, Global: true}
}

// AppliedError is a server error answered after the route ran: the call
// took effect, the client cannot tell.
func AppliedError(status int) Fault { return Fault{Status: status, Applied: true} }

// HTTPError is a bare server error such as 500 or 503 (discordgo returns
// *discordgo.RESTError; it retries a 502 itself, up to MaxRestRetries).
func HTTPError(status int) Fault { return Fault{Status: status} }

// FailNext makes the next n calls to route (a Route… constant; "*" matches
// any route) answer with f. A route's own queue is used before the "*" queue;
// queued faults are used in order. Calls refused for authentication or a bad
// body do not use up a fault. A fault changes nothing unless it is Applied.
func (s *Server) FailNext(route string, n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[route] = append(s.faults[route], f)
	}
}

// InjectFaults installs fn, asked before every call (after FailNext's queue
// is empty) with the route and the request path: returning true answers the
// call with the fault. It runs under the server's lock, so it must not call
// the Server. nil removes it. A typical use: "every third message post
// answers 429".
func (s *Server) InjectFaults(fn func(route, path string) (Fault, bool)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faultF = fn
}

// FaultCall is a call as InjectCallFaults' function sees it.
type FaultCall struct {
	Route string // a Route… constant
	Path  string // the request path
	// Body is the JSON the client sent (a multipart request's
	// payload_json); empty when there was none.
	Body json.RawMessage
}

// Field decodes one top-level field of the call's body into v and reports
// whether it was there.
func (c FaultCall) Field(name string, v any) bool {
	return Call{Body: c.Body}.Field(name, v)
}

// InjectCallFaults is InjectFaults with the request's body, for faults
// that pick a call by what it carries (the post of a message with a given
// nonce, or whose embed lists several incidents). It is asked after
// InjectFaults' function declined, under the server's lock: it must not
// call the Server. nil removes it.
func (s *Server) InjectCallFaults(fn func(FaultCall) (Fault, bool)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faultC = fn
}

// takeFault pops the fault for this call, if any. Callers hold s.mu.
func (s *Server) takeFault(route, path string, body []byte) (Fault, bool) {
	for _, key := range []string{route, "*"} {
		if q := s.faults[key]; len(q) > 0 {
			s.faults[key] = q[1:]
			return q[0], true
		}
	}
	if s.faultF != nil {
		if f, ok := s.faultF(route, path); ok {
			return f, true
		}
	}
	if s.faultC != nil {
		return s.faultC(FaultCall{Route: route, Path: path, Body: json.RawMessage(body)})
	}
	return Fault{}, false
}

func faultAnswer(f Fault, now time.Time) answer {
	h := map[string]string{}
	if f.Status != http.StatusTooManyRequests {
		body := fmt.Sprintf(`{"message":"%d: injected by fakediscord","code":0}`, f.Status)
		return answer{status: f.Status, header: h, body: []byte(body), fault: true}
	}
	retry := max(f.RetryAfter, time.Millisecond)
	h["Retry-After"] = strconv.Itoa(int(math.Ceil(retry.Seconds())))
	if f.Global {
		h["X-RateLimit-Global"] = "true"
		h["X-RateLimit-Scope"] = "global"
	} else {
		h["X-RateLimit-Scope"] = "user"
		h["X-RateLimit-Remaining"] = "0"
		h["X-RateLimit-Reset-After"] = secs(retry)
		h["X-RateLimit-Reset"] = resetAt(now, retry)
	}
	b, _ := json.Marshal(map[string]any{
		"message":     "You are being rate limited.",
		"retry_after": math.Ceil(retry.Seconds()*1000) / 1000,
		"global":      f.Global,
	})
	return answer{status: http.StatusTooManyRequests, header: h, body: b, fault: true}
}

func resetAt(now time.Time, after time.Duration) string {
	t := now.Add(after)
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

// Limit is one route's bucket: Requests calls in each Window, per major
// parameter (channel, guild, webhook), as Discord's fixed-window buckets.
// Every answer carries the bucket's X-RateLimit-* headers; the call over the
// limit is answered 429 with retry_after set to the window's end.
type Limit struct {
	Requests int
	Window   time.Duration
}

// DefaultLimit is the bucket of every route SetLimit did not change: roomy
// enough that tests which do not ask for rate limits never meet one.
var DefaultLimit = Limit{Requests: 50, Window: time.Second}

// DiscordRateLimits are the limits Discord applies to the routes baton uses
// most (observed X-RateLimit-* values; Discord publishes none and may change
// them): 5 messages per 5 s per channel, edits alike, channel creation
// 10 per 10 s per guild.
func DiscordRateLimits() map[string]Limit {
	five := Limit{Requests: 5, Window: 5 * time.Second}
	return map[string]Limit{
		RouteMessagePost:   five,
		RouteMessageEdit:   five,
		RouteChannelCreate: {Requests: 10, Window: 10 * time.Second},
		RouteDMOpen:        five,
		RoutePin:           five,
		RouteReactionAdd:   {Requests: 1, Window: 250 * time.Millisecond},
	}
}

// SetLimit changes a route's bucket; a zero Limit restores DefaultLimit.
func (s *Server) SetLimit(route string, l Limit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.Requests <= 0 || l.Window <= 0 {
		delete(s.limits, route)
		return
	}
	s.limits[route] = l
}

// UseDiscordRateLimits installs DiscordRateLimits.
func (s *Server) UseDiscordRateLimits() {
	for r, l := range DiscordRateLimits() {
		s.SetLimit(r, l)
	}
}

type bucket struct {
	start time.Time
	used  int
}

// admit counts this call in its bucket and returns the bucket's headers, or
// how long until the window resets when it is full. Callers hold s.mu.
func (s *Server) admit(route, key string) (map[string]string, time.Duration, bool) {
	l, ok := s.limits[route]
	if !ok {
		l = DefaultLimit
	}
	now := s.now()
	b := s.buckets[key]
	if b == nil || !now.Before(b.start.Add(l.Window)) {
		b = &bucket{start: now}
		s.buckets[key] = b
	}
	reset := b.start.Add(l.Window).Sub(now)
	hf := fnv.New64a()
	_, _ = hf.Write([]byte(route))
	h := map[string]string{
		"X-RateLimit-Limit":       strconv.Itoa(l.Requests),
		"X-RateLimit-Reset-After": secs(reset),
		"X-RateLimit-Reset":       resetAt(now, reset),
		"X-RateLimit-Bucket":      strconv.FormatUint(hf.Sum64(), 16),
	}
	if b.used >= l.Requests {
		h["X-RateLimit-Remaining"] = "0"
		return h, reset, false
	}
	b.used++
	h["X-RateLimit-Remaining"] = strconv.Itoa(l.Requests - b.used)
	return h, 0, true
}

// Calls returns the recorded calls to route, oldest first; "" returns every call.
func (s *Server) Calls(route string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if route == "" || c.Route == route {
			out = append(out, c)
		}
	}
	return out
}

// ResetCalls forgets the recorded calls (the state stays).
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// WaitFor blocks until cond returns true or ctx ends. cond is evaluated now
// and again after every change to the fake (call, state change, gateway
// exchange); it runs without the server's lock held, so it may call any
// Server method.
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
			return fmt.Errorf("fakediscord: wait: %w", ctx.Err())
		}
	}
}

// WaitCalls waits until at least n calls to route are recorded and returns
// all of them. Refused and faulted calls count too.
func (s *Server) WaitCalls(ctx context.Context, route string, n int) ([]Call, error) {
	var calls []Call
	err := s.WaitFor(ctx, func() bool {
		calls = s.Calls(route)
		return len(calls) >= n
	})
	if err != nil {
		return calls, fmt.Errorf("fakediscord: %d of %d calls to %s: %w", len(calls), n, route, err)
	}
	return calls, nil
}
