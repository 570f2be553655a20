package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/internal/outage"
)

// newOutageLog builds the one outage log of the HTTP edge (webhooks, API,
// /readyz all report their store failures to it) and connects it to Redis:
// every command Redis answers tells it Redis is back, so the "answers
// again" line comes with the first answer, from any caller. It also routes
// go-redis's own log lines (a process-wide setting) into log, rate-limited
// per message.
func newOutageLog(rdb redis.UniversalClient, log *slog.Logger, now func() time.Time) *outage.Log {
	ol := outage.New(log, "redis", outage.DefaultEvery, now)
	rdb.AddHook(answeredHook{ol})
	redis.SetLogger(outage.NewClientLog(log, "go-redis", outage.DefaultEvery, now))
	return ol
}

// answeredHook tells an outage.Log of every command or pipeline that Redis
// answered (a reply, redis.Nil or an error reply such as a script's).
type answeredHook struct{ log *outage.Log }

var _ redis.Hook = answeredHook{}

func (h answeredHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h answeredHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if answered(err) {
			h.log.OK()
		}
		return err
	}
}

func (h answeredHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if answered(err) {
			h.log.OK()
		}
		return err
	}
}

// answered reports whether err came from Redis itself rather than from
// failing to reach it, and says Redis can serve. A server that is loading
// its data, has lost its master or its cluster, refuses writes (out of
// memory: OOM; a replica: READONLY; a failed save: MISCONF) or refuses this
// client (NOAUTH, WRONGPASS, NOPERM) answers, but cannot serve: that is not
// back yet.
func answered(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) {
		return true
	}
	var reply redis.Error
	if !errors.As(err, &reply) {
		return false
	}
	msg := reply.Error()
	for _, p := range notServing {
		if strings.HasPrefix(msg, p) {
			return false
		}
	}
	return true
}

// notServing are the prefixes of the error replies of a Redis that answers
// but cannot serve baton.
var notServing = []string{"LOADING", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN",
	"OOM", "READONLY", "MISCONF", "NOAUTH", "WRONGPASS", "NOPERM"}
