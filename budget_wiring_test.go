package main

import (
	"log/slog"
	"strconv"
	"testing"

	"github.com/batonhq/baton/internal/fakeslack"
	"github.com/batonhq/baton/internal/redistest"
)

// slack.shared_budget wires the Slack pacer to Redis: with it, the calls
// the bot makes leave their limiters' state under <prefix>pace:{…}; without
// it, the pacing stays in the process and Redis holds none.
func TestSlackSharedBudgetWiring(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run("shared_budget="+strconv.FormatBool(shared), func(t *testing.T) {
			rs := redistest.Start(t)
			fake := fakeslack.StartTest(t)
			fake.AddChannel(fakeslack.Channel{Name: "incident-digest"})
			cfg, err := LoadConfig("config.yaml", []string{"BATON_REDIS_ADDR=" + rs.Addr, "BATON_REDIS_ALLOW_VOLATILE=true",
				"BATON_SLACK_BOT_TOKEN=" + fake.BotToken(), "BATON_SLACK_APP_TOKEN=" + fake.AppToken(),
				"BATON_SLACK_API_URL=" + fake.APIURL(), "BATON_ANALYTICS_DIGEST_CHANNEL=#incident-digest",
				"BATON_SLACK_SHARED_BUDGET=" + strconv.FormatBool(shared)})
			if err != nil {
				t.Fatal(err)
			}
			app, err := NewApp(cfg, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			ctx := redistest.Ctx(t)
			if err := app.digest.Run(ctx); err != nil { // a post and an upload through the bot's Chat
				t.Fatalf("digest: %v", err)
			}
			keys, err := rs.Client().Keys(ctx, cfg.Redis.Prefix+"pace:{*").Result()
			if err != nil {
				t.Fatal(err)
			}
			if got := len(keys) > 0; got != shared {
				t.Fatalf("pace keys in Redis: %v; want some: %v", keys, shared)
			}
		})
	}
}
