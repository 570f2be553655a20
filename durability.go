package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// baton's 202 means "this alert is in Redis" (invariant 1). That promise
// survives a Redis restart only if Redis writes its append-only file: with
// appendonly no (Redis's default), a kill -9 or a reboot loses every alert
// since the last RDB snapshot, and INCR hands out incident numbers again.
// So serve and check-config --online read the persistence settings of every
// node that takes writes, and refuse a Redis without AOF unless the operator
// said redis.allow_volatile: true.

// persistence is what one Redis node that takes writes says about its
// durability.
type persistence struct {
	// Node names the node: its address, or "master NAME" behind Sentinel.
	Node string
	// AOF is "yes" or "no" (appendonly), "" when neither CONFIG GET nor
	// INFO persistence could be read.
	AOF string
	// Fsync is appendfsync ("always", "everysec", "no"), "" when CONFIG is
	// not available (INFO does not tell it).
	Fsync string
	// Err is why AOF is unknown: both reads failed.
	Err error
}

// finding is one line the durability check has to say, at its level.
type finding struct {
	Level slog.Level
	Msg   string
}

// readPersistence asks every node of rdb that takes writes (each master of a
// cluster; the current master behind Sentinel; the one node otherwise).
// CONFIG may be renamed or refused on managed Redis: then INFO persistence's
// aof_enabled answers for appendonly, and appendfsync stays unknown.
func readPersistence(ctx context.Context, rdb redis.UniversalClient, c RedisConfig) []persistence {
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		var (
			mu  sync.Mutex // ForEachMaster calls fn on every master at once
			out []persistence
		)
		err := cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			p := readNode(ctx, node, node.Options().Addr)
			mu.Lock()
			out = append(out, p)
			mu.Unlock()
			return nil
		})
		sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
		if err != nil {
			out = append(out, persistence{Node: "cluster " + strings.Join(c.Addrs, ","), Err: fmt.Errorf("list masters: %w", err)})
		}
		return out
	}
	node := c.Addr
	switch {
	case c.MasterName != "":
		node = "master " + c.MasterName
	case len(c.Addrs) > 0:
		node = c.Addrs[0]
	}
	return []persistence{readNode(ctx, rdb, node)}
}

// readNode reads one node's appendonly and appendfsync.
func readNode(ctx context.Context, node redis.Cmdable, name string) persistence {
	p := persistence{Node: name}
	cfg, cfgErr := node.ConfigGet(ctx, "append*").Result()
	if cfgErr == nil && cfg["appendonly"] != "" {
		p.AOF, p.Fsync = cfg["appendonly"], cfg["appendfsync"]
		return p
	}
	if cfgErr == nil {
		cfgErr = errors.New("CONFIG GET appendonly returned nothing")
	}
	info, infoErr := node.Info(ctx, "persistence").Result()
	if infoErr == nil {
		switch infoField(info, "aof_enabled") {
		case "1":
			p.AOF = "yes"
			return p
		case "0":
			p.AOF = "no"
			return p
		}
		infoErr = errors.New("INFO persistence has no aof_enabled")
	}
	p.Err = fmt.Errorf("CONFIG GET: %v; INFO persistence: %v", cfgErr, infoErr)
	return p
}

// infoField returns the value of "name:value" in an INFO reply, or "".
func infoField(info, name string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}

// judgeDurability turns what the nodes said into log lines and, when baton
// must not serve, the sentence that says why and how to fix it. Pure.
func judgeDurability(ps []persistence, allowVolatile bool) ([]finding, error) {
	var out []finding
	var volatile []string
	for _, p := range ps {
		switch {
		case p.AOF == "" && p.Err != nil && allowVolatile:
			// Volatility is accepted anyway (the demo's in-memory Redis).
			out = append(out, finding{slog.LevelInfo, fmt.Sprintf(
				"redis %s: cannot read its persistence settings (%v); redis.allow_volatile is true, so it does not matter", p.Node, p.Err)})
		case p.AOF == "" && p.Err != nil:
			out = append(out, finding{slog.LevelError, fmt.Sprintf(
				"redis %s: cannot read its persistence settings (%v); baton cannot tell whether alerts answered 202 survive a Redis restart: make sure it runs with appendonly yes",
				p.Node, p.Err)})
		case p.AOF != "yes":
			volatile = append(volatile, p.Node)
			msg := fmt.Sprintf("redis %s does not persist writes (appendonly %s): alerts answered 202 are lost and incident numbers issued again if it restarts; set appendonly yes and appendfsync everysec on it",
				p.Node, p.AOF)
			if allowVolatile {
				msg += "; serving anyway because redis.allow_volatile is true (never in production)"
			}
			out = append(out, finding{slog.LevelError, msg})
		case p.Fsync == "no":
			out = append(out, finding{slog.LevelWarn, fmt.Sprintf(
				"redis %s has appendfsync no: the kernel decides when accepted alerts reach the disk (about 30 s at risk on a power loss); appendfsync everysec bounds that to a second",
				p.Node)})
		case p.Fsync == "":
			out = append(out, finding{slog.LevelInfo, fmt.Sprintf(
				"redis %s persists writes (appendonly yes); its appendfsync could not be read (CONFIG is not available)", p.Node)})
		default:
			out = append(out, finding{slog.LevelInfo, fmt.Sprintf(
				"redis %s persists writes (appendonly yes, appendfsync %s)", p.Node, p.Fsync)})
		}
	}
	if len(volatile) == 0 {
		return out, nil
	}
	if allowVolatile {
		return out, nil
	}
	return out, fmt.Errorf("redis %s has appendonly no, so an alert baton answered 202 would be lost when Redis restarts; "+
		"turn on appendonly yes (with appendfsync everysec) on that Redis, or set redis.allow_volatile: true (BATON_REDIS_ALLOW_VOLATILE=true) to accept losing alerts",
		strings.Join(volatile, ", "))
}

// durabilityCheckEvery is how often serve retries the durability check
// while Redis has not answered since the start.
const durabilityCheckEvery = time.Second

// CheckRedis reads the persistence of the Redis nodes that take writes and
// logs what it found (durability.go). answered is false when Redis did not
// answer PING within two seconds (nothing checked yet); err is the refusal
// to serve: appendonly no without redis.allow_volatile. cmd serve calls it
// before listening; Serve calls it unless a call already had an answer.
func (a *App) CheckRedis(ctx context.Context) (answered bool, err error) {
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := a.stores.rdb.Ping(pctx).Err(); err != nil {
		return false, nil
	}
	a.redisChecked.Store(true)
	if err := checkDurability(ctx, a.stores.rdb, a.cfg.Redis, a.log); err != nil {
		return true, fmt.Errorf("refusing to start: %w", err)
	}
	// Learn (or write) the epoch marker now, so that a loss from here on
	// is told (redis_watch.go); a failure is retried by the watch.
	_ = a.watch.verify(ctx)
	return true, nil
}

// checkRedisOnceUp is Serve's check when Redis did not answer at start:
// it retries until Redis answers, then sends the refusal (or nil) on
// refused, once. It returns when ctx ends.
func (a *App) checkRedisOnceUp(ctx context.Context, refused chan<- error) {
	t := time.NewTicker(durabilityCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if answered, err := a.CheckRedis(ctx); answered {
			refused <- err
			return
		}
	}
}

// checkDurability reads rdb's persistence, logs every finding once, and
// returns the refusal of judgeDurability (nil: serve).
func checkDurability(ctx context.Context, rdb redis.UniversalClient, c RedisConfig, log *slog.Logger) error {
	fs, err := judgeDurability(readPersistence(ctx, rdb, c), c.AllowVolatile)
	for _, f := range fs {
		log.Log(ctx, f.Level, f.Msg)
	}
	return err
}
