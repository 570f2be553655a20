// Package chaos is baton's chaos suite: real `baton serve` processes, a real
// redis-server with AOF on, internal/fakeslack on loopback, a load of real
// Sumo Logic and signed SNS payloads, and faults (kill -9 of replicas and of
// Redis, Slack answering 429 and 503, the Socket Mode socket dropped). It
// counts every alert, announcement and page afterwards from the fake's
// record and from Redis (through baton's API).
//
// Every file but this one is built only with the chaos tag, so `go test
// ./...` does not run the suite:
//
//	go test -tags chaos ./test/chaos/ -run TestChaos -v                # short form (CI, under 3 minutes)
//	go test -tags chaos ./test/chaos/ -run TestChaos -v -chaos.long -timeout 120m  # long form
//
// The long form loads for 5 minutes and then waits up to 90 minutes for the
// announcements to settle (longPlan: Slack's tier-2 pacing of
// conversations.create makes 2,000 incidents take over an hour), hence the
// 120-minute timeout.
//
// RELIABILITY.md keeps the last table and says what each count means.
package chaos
