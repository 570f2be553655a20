package escalation_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
)

// Jitter sources for DecidePageFailure: the runner draws uniformly from
// [0, d]; these are its extremes.
func noJitter(time.Duration) time.Duration     { return 0 }
func fullJitter(d time.Duration) time.Duration { return d }

// retries is the runner's default retry policy with a given jitter.
func retries(jitter func(time.Duration) time.Duration) escalation.RetryPolicy {
	return escalation.RetryPolicy{MaxAttempts: 5, Min: time.Second, Max: time.Minute, Jitter: jitter}
}

func failedPage(reason escalation.Reason) escalation.Page {
	return escalation.Page{Incident: 7, Person: "alice", Reason: reason, Level: 1, Key: "7/1/first"}
}

func failures(n int) incident.EscalationState { return incident.EscalationState{Rev: 3, Failures: n} }

// Each branch of what follows an undelivered page is a named case.
func TestDecidePageFailure(t *testing.T) {
	boom := errors.New("slack server error: 503")
	cases := []struct {
		name   string
		page   escalation.Page
		st     incident.EscalationState
		err    error
		jitter func(time.Duration) time.Duration
		want   escalation.PageFailure
	}{
		{name: "notify is best effort: ignored, not retried",
			page: failedPage(escalation.ReasonNotify), err: boom,
			want: escalation.PageFailure{Action: escalation.FailureIgnored}},
		{name: "handoff is best effort: ignored, not retried",
			page: failedPage(escalation.ReasonHandoff), st: failures(4), err: escalation.Permanent(boom),
			want: escalation.PageFailure{Action: escalation.FailureIgnored}},
		{name: "handoff refused by a 429: deferred by its Retry-After, not dropped",
			page: failedPage(escalation.ReasonHandoff), st: failures(1),
			err:  fmt.Errorf("bundle of 27 pages: %w", escalation.RetryAfter(errors.New("rate limit"), 2*time.Second)),
			want: escalation.PageFailure{Action: escalation.FailureDeferred, Due: now.Add(2 * time.Second), Delay: 2 * time.Second, Attempts: 1}},
		{name: "notify deferred by pacing: deferred, not dropped",
			page: failedPage(escalation.ReasonNotify), err: escalation.Defer(time.Second),
			want: escalation.PageFailure{Action: escalation.FailureDeferred, Due: now.Add(time.Second), Delay: time.Second}},
		{name: "page of an incident no longer triggered: not due, not retried",
			page: failedPage(escalation.ReasonFirst), st: failures(1),
			err:  escalation.Unsent(fmt.Errorf("page 7/1/first: %w", escalation.ErrNotTriggered)),
			want: escalation.PageFailure{Action: escalation.FailureNotDue, Attempts: 1}},
		{name: "fallback page no longer triggered on its last attempt: not due, not given up",
			page: failedPage(escalation.ReasonFallback), st: failures(4),
			err:  escalation.Unsent(fmt.Errorf("page 7/1/first: %w", escalation.ErrNotTriggered)),
			want: escalation.PageFailure{Action: escalation.FailureNotDue, Attempts: 4}},
		{name: "deferred: runs again after the deferral, no attempt counted",
			page: failedPage(escalation.ReasonFirst), st: failures(2), err: escalation.Defer(3 * time.Second),
			want: escalation.PageFailure{Action: escalation.FailureDeferred, Due: now.Add(3 * time.Second), Delay: 3 * time.Second, Attempts: 2}},
		{name: "deferred on the last attempt is still not a failure",
			page: failedPage(escalation.ReasonRepeat), st: failures(4), err: escalation.Defer(time.Second),
			want: escalation.PageFailure{Action: escalation.FailureDeferred, Due: now.Add(time.Second), Delay: time.Second, Attempts: 4}},
		{name: "deferred by a negative duration: at once",
			page: failedPage(escalation.ReasonFirst), err: escalation.Defer(-time.Second),
			want: escalation.PageFailure{Action: escalation.FailureDeferred, Due: now, Delay: 0}},
		{name: "deferred longer than 15 minutes: capped",
			page: failedPage(escalation.ReasonFirst), err: escalation.Defer(time.Hour),
			want: escalation.PageFailure{Action: escalation.FailureDeferred, Due: now.Add(15 * time.Minute), Delay: 15 * time.Minute}},
		{name: "first failure, least jitter: half of RetryMin",
			page: failedPage(escalation.ReasonFirst), err: boom, jitter: noJitter,
			want: escalation.PageFailure{Action: escalation.FailureRetry, Due: now.Add(500 * time.Millisecond), Delay: 500 * time.Millisecond, Attempts: 1}},
		{name: "first failure, most jitter: RetryMin",
			page: failedPage(escalation.ReasonFirst), err: boom, jitter: fullJitter,
			want: escalation.PageFailure{Action: escalation.FailureRetry, Due: now.Add(time.Second), Delay: time.Second, Attempts: 1}},
		{name: "third failure: backoff doubled twice",
			page: failedPage(escalation.ReasonEscalated), st: failures(2), err: boom, jitter: fullJitter,
			want: escalation.PageFailure{Action: escalation.FailureRetry, Due: now.Add(4 * time.Second), Delay: 4 * time.Second, Attempts: 3}},
		{name: "a jitter source out of range is clamped to the backoff",
			page: failedPage(escalation.ReasonFirst), err: boom, jitter: func(d time.Duration) time.Duration { return 10 * d },
			want: escalation.PageFailure{Action: escalation.FailureRetry, Due: now.Add(time.Second), Delay: time.Second, Attempts: 1}},
		{name: "retry-after hint honoured, without jitter",
			page: failedPage(escalation.ReasonFirst), st: failures(1), err: escalation.RetryAfter(boom, 7*time.Second), jitter: fullJitter,
			want: escalation.PageFailure{Action: escalation.FailureRetry, Due: now.Add(7 * time.Second), Delay: 7 * time.Second, Attempts: 2}},
		{name: "retry-after hint found through wrapping",
			page: failedPage(escalation.ReasonFirst), err: fmt.Errorf("dm alice: %w", escalation.RetryAfter(boom, 2*time.Minute)), jitter: noJitter,
			want: escalation.PageFailure{Action: escalation.FailureRetry, Due: now.Add(2 * time.Minute), Delay: 2 * time.Minute, Attempts: 1}},
		{name: "retry-after hint longer than 15 minutes: capped",
			page: failedPage(escalation.ReasonFirst), err: escalation.RetryAfter(boom, 24*time.Hour), jitter: noJitter,
			want: escalation.PageFailure{Action: escalation.FailureRetry, Due: now.Add(15 * time.Minute), Delay: 15 * time.Minute, Attempts: 1}},
		{name: "zero retry-after hint: the backoff applies",
			page: failedPage(escalation.ReasonFirst), err: escalation.RetryAfter(boom, 0), jitter: noJitter,
			want: escalation.PageFailure{Action: escalation.FailureRetry, Due: now.Add(500 * time.Millisecond), Delay: 500 * time.Millisecond, Attempts: 1}},
		{name: "permanent error: dead letter at once, fallback paged",
			page: failedPage(escalation.ReasonFirst), err: escalation.Permanent(errors.New("user_not_found")),
			want: escalation.PageFailure{Action: escalation.FailureDeadLetter, Attempts: 1, PageFallback: true}},
		{name: "permanent wins over a retry-after hint",
			page: failedPage(escalation.ReasonAssigned), err: escalation.RetryAfter(escalation.Permanent(boom), time.Second),
			want: escalation.PageFailure{Action: escalation.FailureDeadLetter, Attempts: 1, PageFallback: true}},
		{name: "attempts exhausted: the MaxAttempts-th failure is dead-lettered, fallback paged",
			page: failedPage(escalation.ReasonRetriggered), st: failures(4), err: boom, jitter: fullJitter,
			want: escalation.PageFailure{Action: escalation.FailureDeadLetter, Attempts: 5, PageFallback: true}},
		{name: "attempts exhausted even with a retry-after hint",
			page: failedPage(escalation.ReasonRepeat), st: failures(4), err: escalation.RetryAfter(boom, time.Second),
			want: escalation.PageFailure{Action: escalation.FailureDeadLetter, Attempts: 5, PageFallback: true}},
		{name: "one attempt short of MaxAttempts is retried",
			page: failedPage(escalation.ReasonRepeat), st: failures(3), err: boom, jitter: fullJitter,
			want: escalation.PageFailure{Action: escalation.FailureRetry, Due: now.Add(8 * time.Second), Delay: 8 * time.Second, Attempts: 4}},
		{name: "the fallback page itself given up: no fallback of the fallback",
			page: failedPage(escalation.ReasonFallback), st: failures(4), err: boom,
			want: escalation.PageFailure{Action: escalation.FailureDeadLetter, Attempts: 5}},
		{name: "the fallback page with a permanent error: dead letter, no fallback",
			page: failedPage(escalation.ReasonFallback), err: escalation.Permanent(boom),
			want: escalation.PageFailure{Action: escalation.FailureDeadLetter, Attempts: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := escalation.DecidePageFailure(tc.page, tc.st, tc.err, now, retries(tc.jitter))
			if got != tc.want {
				t.Fatalf("DecidePageFailure =\n %+v\nwant\n %+v", got, tc.want)
			}
		})
	}
}

// The backoff doubles from RetryMin up to RetryMax, and equal jitter keeps
// every delay within [backoff/2, backoff], whatever the random draw.
func TestRetryDelayJitterBounds(t *testing.T) {
	rp := retries(nil)
	rng := rand.New(rand.NewPCG(1, 2))
	draws := map[string]func(time.Duration) time.Duration{
		"none":   noJitter,
		"full":   fullJitter,
		"random": func(d time.Duration) time.Duration { return time.Duration(rng.Int64N(int64(d) + 1)) },
	}
	backoff := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60, 60}
	for name, jitter := range draws {
		rp.Jitter = jitter
		for i, b := range backoff {
			attempt := i + 1
			b *= time.Second
			for range 50 {
				d := rp.Delay(attempt, errors.New("timeout"))
				if d < b/2 || d > b {
					t.Fatalf("%s jitter, attempt %d: delay %v outside [%v, %v]", name, attempt, d, b/2, b)
				}
			}
		}
	}
	if d := retries(nil).Delay(3, errors.New("timeout")); d != 2*time.Second {
		t.Fatalf("without a jitter source the delay is the fixed half: got %v, want 2s", d)
	}
}
