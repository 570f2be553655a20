package main

import (
	"log/slog"

	"github.com/batonhq/baton/analytics/digest"
)

// newDigest builds the weekly digest job: the report of the last week,
// posted by poster in analytics.digest_channel on Mondays at 09:00. No
// poster or no channel means no digest (nil). The API's and chat's
// analytics are built with the HTTP edge and the chat side.
func newDigest(cfg *Config, d *domain, st *stores, poster digest.Poster, log *slog.Logger, o AppOptions) *digest.Job {
	if poster == nil || cfg.Analytics.DigestChannel == "" {
		return nil
	}
	return &digest.Job{Source: st.reports, Poster: poster, Channel: cfg.Analytics.DigestChannel,
		Zone: d.zone, PersonZone: d.personZone, Locker: digest.NewLocker(st.rdb, cfg.Redis.Prefix), Log: log, Now: o.Now}
}
