package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/batonhq/baton/bot"
)

// configFlag adds --config to fs, defaulting to $BATON_CONFIG or config.yaml.
func configFlag(fs *flag.FlagSet, environ []string) *string {
	def := "config.yaml"
	for _, kv := range environ {
		if v, ok := cutPrefix(kv, "BATON_CONFIG="); ok {
			def = v
		}
	}
	return fs.String("config", def, "path to the config file (env BATON_CONFIG)")
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return "", false
}

// loadOrReport loads the config and prints every problem, one per line.
func loadOrReport(path string, environ []string, stderr io.Writer) (*Config, bool) {
	cfg, err := LoadConfig(path, environ)
	if err != nil {
		var ps Problems
		if errors.As(err, &ps) {
			fmt.Fprintf(stderr, "%s: %d problem(s):\n", path, len(ps))
			for _, p := range ps {
				fmt.Fprintln(stderr, p.Error())
			}
		} else {
			fmt.Fprintf(stderr, "baton: %v\n", err)
		}
		return nil, false
	}
	return cfg, true
}

// cmdCheckConfig validates the config file; with --online it also connects
// to the configured Redis and checks that it persists writes (durability.go).
// Exit 2: the file has problems; 1: Redis does not answer, or serve would
// refuse it; 0: fine (warnings may be printed).
func cmdCheckConfig(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) int {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := configFlag(fs, environ)
	online := fs.Bool("online", false, "also connect to Redis and check that it persists writes (appendonly), try the SMTP server (EHLO, STARTTLS), check Discord's token, guild, channels and people's ids when discord.token is set, and check that the people on call and the user: targets can be paged")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, ok := loadOrReport(*path, environ, stderr)
	if !ok {
		return 2
	}
	fmt.Fprintf(stdout, "%s is valid: %d services, %d people, %d rotations, %d escalation policies\n",
		*path, len(cfg.Services), len(cfg.People), len(cfg.Rotations), len(cfg.EscalationPolicies))
	for _, w := range cfg.Warnings() {
		fmt.Fprintln(stdout, "warning: "+w)
	}
	if !*online {
		return 0
	}
	if code := checkRedisOnline(ctx, cfg.Redis, stdout, stderr); code != 0 {
		return code
	}
	smtpCode := checkSMTPOnline(ctx, cfg.SMTP, stdout)
	n, refused := checkDiscordOnline(ctx, cfg, stdout)
	if n > 0 {
		fmt.Fprintf(stderr, "baton: %d Discord %s: see the error lines\n", n, plural(n, "problem", "problems"))
		smtpCode = 1
	}
	if code := checkShiftsOnline(ctx, cfg, refused, stdout, stderr); code != 0 {
		return code
	}
	return smtpCode
}

// checkShiftsOnline is check-config --online's pre-shift check: the check
// each rotation's handoff steps run (bot.Shifts.Problems) for every
// rotation now, through the configured chat and Redis, and the people that
// escalation levels name directly (checkTargetsOnline). One line per
// problem on stdout ("error: rotation R: …"), a summary on stderr and exit
// 1 when there is any; nothing to do without a chat, nor when the chat is
// Discord and it refused the token (discordRefused: that one error is
// already said, not again for each person).
func checkShiftsOnline(ctx context.Context, cfg *Config, discordRefused bool, stdout, stderr io.Writer) int {
	app, err := NewAppWith(cfg, slog.New(slog.DiscardHandler), AppOptions{})
	if err != nil {
		fmt.Fprintf(stderr, "baton: cannot build the app to check the rotations: %v\n", err)
		return 1
	}
	defer app.Close()
	if app.Chat == nil || app.Chat.shifts == nil {
		fmt.Fprintln(stdout, "rotations: no chat configured; reachability not checked")
		return 0
	}
	if discordRefused && app.Chat.name == "discord" {
		fmt.Fprintln(stdout, "rotations: Discord refuses the token (above); reachability not checked")
		return 0
	}
	// One ChatCheck for both checks: a person on call and named by a level
	// is asked about once.
	cc := app.Chat.shifts.NewChatCheck(onlineStep)
	probs, err := app.Chat.shifts.CheckOnline(ctx, time.Now(), cc)
	if errors.Is(err, bot.ErrChatDown) {
		fmt.Fprintf(stdout, "error: %s: %v\n", app.Chat.name, err)
		fmt.Fprintf(stderr, "baton: %s does not answer or refuses the token: nobody's reachability could be checked\n", app.Chat.name)
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "baton: cannot check the rotations: %v\n", err)
		return 1
	}
	targetsBad := checkTargetsOnline(ctx, cfg, cc, app.Chat.name, stdout)
	if targetsBad > 0 {
		fmt.Fprintf(stderr, "baton: %d %s named in escalation levels cannot be paged\n", targetsBad, plural(targetsBad, "person", "people"))
	}
	names := make([]string, 0, len(probs))
	n := 0
	for r, ps := range probs {
		names = append(names, r)
		n += len(ps)
	}
	sort.Strings(names)
	for _, r := range names {
		for _, p := range probs[r] {
			fmt.Fprintf(stdout, "error: rotation %s: %s\n", r, p)
		}
	}
	if n > 0 {
		fmt.Fprintf(stderr, "baton: %d pre-shift %s in %d %s: the people on call in the next 24 h must be reachable\n",
			n, plural(n, "problem", "problems"), len(names), plural(len(names), "rotation", "rotations"))
		return 1
	}
	if targetsBad > 0 {
		return 1
	}
	fmt.Fprintf(stdout, "rotations: everyone on call in the next 24 h can be paged (%d rotations)\n", len(cfg.Rotations))
	return 0
}

// onlineStep bounds each call of check-config --online's rotation check
// (auth.test, each rotation's overrides, each person's lookup and DM).
const onlineStep = 10 * time.Second

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// checkRedisOnline is check-config --online's Redis part: one line per
// finding on stdout ("redis: …", "warning: …", "error: …"), the refusal on
// stderr.
func checkRedisOnline(ctx context.Context, c RedisConfig, stdout, stderr io.Writer) int {
	rdb := newRedis(c)
	defer rdb.Close()
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		fmt.Fprintf(stderr, "baton: redis does not answer at %s: %v\n", redisName(c), err)
		return 1
	}
	fs, err := judgeDurability(readPersistence(ctx, rdb, c), c.AllowVolatile)
	for _, f := range fs {
		switch {
		case f.Level >= slog.LevelError:
			fmt.Fprintln(stdout, "error: "+f.Msg)
		case f.Level >= slog.LevelWarn:
			fmt.Fprintln(stdout, "warning: "+f.Msg)
		default:
			fmt.Fprintln(stdout, f.Msg)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "baton: serve would refuse to start: %v\n", err)
		return 1
	}
	return 0
}

// redisName is how messages name the configured Redis.
func redisName(c RedisConfig) string {
	switch {
	case c.MasterName != "":
		return "Sentinel master " + c.MasterName + " via " + strings.Join(c.Addrs, ",")
	case len(c.Addrs) > 0:
		return strings.Join(c.Addrs, ",")
	}
	return c.Addr
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string, now func() time.Time) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := configFlag(fs, environ)
	listen := fs.String("listen", "", "override http.listen")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, ok := loadOrReport(*path, environ, stderr)
	if !ok {
		return 2
	}
	if *listen != "" {
		cfg.HTTP.Listen = *listen
	}
	log := newLogger(stderr, cfg.Log.Level)
	app, err := NewAppWith(cfg, log, AppOptions{Now: now})
	if err != nil {
		fmt.Fprintf(stderr, "baton: %v\n", err)
		return 1
	}
	defer app.Close()
	// Refuse a Redis that would lose accepted alerts before listening, so
	// nobody is told "listening" by a process that is about to stop.
	if _, err := app.CheckRedis(ctx); err != nil {
		fmt.Fprintf(stderr, "baton: %v\n", err)
		return 1
	}
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "baton: cannot listen on %s (http.listen): %v; choose another with --listen or BATON_HTTP_LISTEN\n", cfg.HTTP.Listen, err)
		return 1
	}
	fmt.Fprintf(stdout, "baton listening on http://%s\n", ln.Addr())
	if err := app.Serve(ctx, ln); err != nil {
		fmt.Fprintf(stderr, "baton: %v\n", err)
		return 1
	}
	return 0
}
