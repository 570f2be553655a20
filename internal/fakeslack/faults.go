package fakeslack

import (
	"math"
	"net/http"
	"net/url"
	"time"
)

// Fault is an answer the fake gives instead of running a method. A faulted
// call changes nothing (a 429'd chat.postMessage posts no message), unless
// Applied.
type Fault struct {
	// Applied: the method runs and its effect stays, and the fault is its
	// answer: the answer of a call that Slack carried out was lost (a
	// chat.postMessage answered 502 whose message is posted).
	Applied bool
	// Status is the HTTP status; 0 (or 200) answers 200 {"ok":false,"error":Error}.
	Status int
	// RetryAfter, with Status 429, is sent as the Retry-After header in whole
	// seconds, rounded up (Slack's header has no fractions); 0 sends no header.
	RetryAfter time.Duration
	// Error is the Slack error code of an ok:false answer.
	Error string
}

// TooManyRequests is HTTP 429 with Retry-After (slack-go returns
// *slack.RateLimitedError), or without it when retryAfter is 0 (slack-go
// returns slack.StatusCodeError{Code: 429}).
func TooManyRequests(retryAfter time.Duration) Fault {
	return Fault{Status: http.StatusTooManyRequests, RetryAfter: retryAfter}
}

// HTTPError is a bare HTTP status such as 500 or 503 (slack-go returns
// slack.StatusCodeError).
func HTTPError(status int) Fault { return Fault{Status: status} }

// SlackError is HTTP 200 with {"ok":false,"error":code} (slack-go returns
// slack.SlackErrorResponse).
func SlackError(code string) Fault { return Fault{Error: code} }

// FailNext makes the next n calls to method answer with f. Method "*" matches
// any method; a method's own queue is used before the "*" queue. Queued
// faults are used in order, so FailNext(m, 1, a); FailNext(m, 1, b) answers a
// then b. Calls rejected for authentication or an unknown method do not use
// up a fault.
func (s *Server) FailNext(method string, n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[method] = append(s.faults[method], f)
	}
}

// InjectFaults installs fn, asked before every call (after FailNext's queue is
// empty): returning true answers the call with the fault. It runs under the
// server's lock, so it must not call the Server. nil removes it. A typical use
// is "every third call to every method fails with 503".
func (s *Server) InjectFaults(fn func(method string, params url.Values) (Fault, bool)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faultF = fn
}

// takeFault pops the fault for this call, if any. Callers hold s.mu.
func (s *Server) takeFault(method string, params url.Values) (Fault, bool) {
	for _, key := range []string{method, "*"} {
		if q := s.faults[key]; len(q) > 0 {
			s.faults[key] = q[1:]
			return q[0], true
		}
	}
	if s.faultF != nil {
		return s.faultF(method, params)
	}
	return Fault{}, false
}

// Limit is a token-bucket model of one method's rate limit: PerMinute calls
// a minute sustained, bursts of up to Burst calls. Over the limit the call is
// answered 429 with Retry-After set to when the next call would pass.
type Limit struct {
	PerMinute float64
	// Burst is the bucket size; 0 means a tenth of PerMinute, at least 1.
	Burst int
	// PerChannel keeps one bucket per "channel" parameter, as Slack does for
	// chat.postMessage (about one message a second in each channel).
	PerChannel bool
}

// SlackRateLimits is the table UseSlackRateLimits installs: the limits of
// Slack's tiers for the methods baton uses (INTEGRATION.md). Slack publishes
// per-minute figures and tolerates short bursts; the burst sizes here are
// this fake's guess at "short".
func SlackRateLimits() map[string]Limit {
	tier2 := Limit{PerMinute: 20, Burst: 3}
	tier3 := Limit{PerMinute: 50, Burst: 5}
	tier4 := Limit{PerMinute: 100, Burst: 10}
	return map[string]Limit{
		"chat.postMessage":             {PerMinute: 60, Burst: 3, PerChannel: true},
		"conversations.create":         tier2,
		"conversations.archive":        tier2,
		"conversations.list":           tier2,
		"conversations.invite":         tier3,
		"conversations.open":           tier3,
		"conversations.info":           tier3,
		"conversations.history":        tier3,
		"conversations.replies":        tier3,
		"conversations.setTopic":       tier3,
		"chat.update":                  tier3,
		"chat.delete":                  tier3,
		"pins.add":                     tier2,
		"reactions.add":                tier3,
		"users.lookupByEmail":          tier3,
		"files.getUploadURLExternal":   tier4,
		"files.completeUploadExternal": tier4,
		"users.info":                   tier4,
		"chat.postEphemeral":           tier4,
	}
}

// RateLimit models a rate limit on method; a Limit with PerMinute 0 removes it.
func (s *Server) RateLimit(method string, l Limit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.PerMinute <= 0 {
		delete(s.limits, method)
		return
	}
	if l.Burst <= 0 {
		l.Burst = max(1, int(math.Ceil(l.PerMinute/10)))
	}
	s.limits[method] = &bucketSet{limit: l, buckets: map[string]*bucket{}}
}

// UseSlackRateLimits installs SlackRateLimits for every method in it.
func (s *Server) UseSlackRateLimits() {
	for m, l := range SlackRateLimits() {
		s.RateLimit(m, l)
	}
}

type bucketSet struct {
	limit   Limit
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// admit takes a token for this call or says how long until one is free.
// Callers hold s.mu.
func (s *Server) admit(method string, params url.Values) (retryAfter time.Duration, ok bool) {
	set := s.limits[method]
	if set == nil {
		return 0, true
	}
	key := ""
	if set.limit.PerChannel {
		// One bucket per channel however it is named: id, "#name" or a user id for the IM.
		key = params.Get("channel")
		if c := s.lookupChannel(key); c != nil {
			key = c.ID
		} else if c := s.ws.im(key); c != nil {
			key = c.ID
		}
	}
	now := s.now()
	b := set.buckets[key]
	if b == nil {
		b = &bucket{tokens: float64(set.limit.Burst), last: now}
		set.buckets[key] = b
	}
	perSec := set.limit.PerMinute / 60
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(float64(set.limit.Burst), b.tokens+el*perSec)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	wait := time.Duration((1 - b.tokens) / perSec * float64(time.Second))
	return max(wait, time.Second), false
}

// retryAfterSeconds is the Retry-After header value for d: whole seconds,
// rounded up, at least 1.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
