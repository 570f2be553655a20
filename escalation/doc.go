// Package escalation decides who is paged about a triggered incident, when,
// and when it moves up a level, and runs those decisions from due jobs in
// Redis with any number of replicas. docs/escalation.md states the rules.
//
// # Decisions are pure
//
// Decide (incident, escalation state, policy, on-call answers, now → Plan),
// AckTimeoutDue and DecidePageFailure (page, state, error, now, retry
// policy → PageFailure) read no clock, no Redis and no randomness: time
// comes in as now, the backoff's jitter as RetryPolicy.Jitter. This
// package's decision code imports no chat SDK; chat is behind the Pager and
// ChatSync interfaces.
//
// # What the Runner guarantees
//
//   - Deadlines are data. Every next step is a job in the incident store's
//     sorted sets, due at a time in Redis ("page:<n>", "acktimeout:<n>",
//     "chat:<n>", and a heartbeat monitor's deadline "heartbeat:<name>",
//     which the store decides against the last beat: job_heartbeat.go;
//     a maintenance window's end "maintenance:<id>": job_maintenance.go;
//     a person paged in, "pagein:<n>:<person>": job_pagein.go;
//     and one email to a person "email:<n>:<tag>": email.go).
//     The runner keeps no schedule of its own: its timers and
//     the Wakeup only make it look sooner, and a one-second poll
//     (a time.Ticker) finds whatever they miss. A restart changes no
//     outcome.
//   - At least once, under short leases. A claim moves a job to an
//     in-flight set under a lease (Options.Lease, 8 s by default, renewed
//     every 3/10 of it while the job runs). A runner that dies delays its
//     jobs by one lease and loses none: the claim tells every runner the
//     earliest lease deadline, so another replica takes the job over when
//     the lease runs out, not at its next poll. One that is stopped gives
//     them back due at once. A job that fails because Redis went away
//     (its commit and its release fail) is kept with its lease token and
//     given back due now by the first drain that finds Redis answering,
//     not after its lease. A job may therefore run twice: each Page carries
//     a Key that is the same for such a retry.
//   - Pages before the commit. The plan's pages are sent, each right after
//     re-checking that the incident is still triggered at the decided
//     revision, and only then is the step committed — applied only if the
//     revision is unchanged. A crash in between runs the step again; it
//     never loses a page. A transition in between voids the plan but keeps
//     the record of the pages sent.
//   - Each page delivered once, recorded around the send. Before the Pager
//     call the page's Key is recorded "sending" in the incident store
//     (incident.Store.BeginPage), after it "sent" (EndPage); a Defer or
//     RetryAfter error (the chat refused the call) or an Unsent one (it
//     failed before the chat call) removes the mark.
//     A BundlingPager may send the page in one message with other pages
//     to the same person (a Bundle); each page still has its own record
//     and its own "paged" event, which names the bundle and its time.
//     A run that finds "sent" does not send the page again and records it
//     as paged. A run that finds "sending" without "sent" asks the Pager,
//     if it is a DeliveryChecker, whether the page is there, and sends it
//     only if not; a Pager that cannot check, or a check that fails, means
//     send again (a check refused by a rate limit, a Defer or RetryAfter,
//     reschedules the job for then instead, counting no failed attempt; a
//     fallback page, which is not retried, is sent). So a page is never lost for want of a record, and is
//     delivered twice only when (a) a send's outcome went unrecorded (its
//     runner died or lost Redis between the chat call and the record, or
//     the call failed ambiguously: a timeout, a 5xx) and the check could
//     not confirm it: no checker, a LogPager that did not log it itself
//     (another process's line, or one older than its memory: a line
//     written twice),
//     the chat's history unreadable, or the page pushed out of what the
//     checker reads; or (b) a runner whose lease ran out while its chat
//     call was still in flight (it could not renew: Redis unreachable from
//     it, the chat reachable) and the runner that took the job over, which
//     checked before the first post landed, both sent it; or (c) the
//     record itself was lost (Redis without persistence restarted, or the
//     record expired after incident.PageRecordTTL). docs/architecture.md
//     states the same for the Slack pager.
//   - Pages before cosmetic chat work. Chat jobs have their own queue and
//     workers (Options.ChatWorkers): a card redraw held back by a chat
//     API's rate limit never holds a page back.
//   - First pages before re-pages. Page jobs are urgent or routine: a first
//     page, an escalation, an acknowledgement timeout, an assigned owner's
//     page and a job whose lease ran out are urgent, and the store claims
//     due urgent jobs before any routine one (incident.Store.ClaimJobs).
//     A re-page is routine until the escalation it would become is due
//     (Plan.UrgentAt): a backlog of overdue re-pages delays neither a new
//     incident's first page nor an escalation. One incident's overdue
//     re-pages are one job and one page.
//   - Undeliverable pages are retried with backoff, then dead-lettered and
//     replaced by a page to the service's fallback channel (on a level
//     that emails, by an email first, and by the fallback page only if
//     that fails too: email.go); the schedule goes on as if delivered. Deferrals by the Pager's own pacing are not
//     failures. A page held back by a chat failure other than a rate
//     limit is made due at once when the runner next delivers a page (the
//     chat answers again), not after the rest of its backoff.
//   - A 429's Retry-After on a chat job is a hold in the queue
//     (incident.Store.HoldJob): no state change's re-queue runs it earlier.
//
// # Wiring
//
// The wiring builds, in this order: the Policies; a Wakeup; the incident
// store with incident.WithAckTimeout(policies.AckTimeout) and
// incident.WithOnJobDue(wakeup.Notify) and incident.WithOnCreated(wakeup.Opened)
// (a new incident's first page handed straight to the runner: handoff.go); the chat bot, whose wake-up is
// wakeup.Notify; and the Runner with Options{Incidents, Wakeup, Policies,
// Pager, ...}. Nothing is set after construction.
package escalation
