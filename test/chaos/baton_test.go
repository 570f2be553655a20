//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/redisproc"
)

// buildBaton builds the baton binary of this checkout once into dir.
func buildBaton(t *testing.T, dir string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	bin := filepath.Join(dir, "baton")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build baton: %v\n%s", err, out)
	}
	return bin
}

// replica is one `baton serve` process, restartable on the same port.
type replica struct {
	id     int
	bin    string
	config string
	addr   string // http listen address
	env    []string
	logDir string

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	starts   int
	kills    int
	crashLog []string // exits nobody asked for
}

// URL is the replica's base URL.
func (r *replica) URL() string { return "http://" + r.addr }

// start runs the process and waits until /readyz answers 200 (Redis reached).
func (r *replica) start(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := r.startOnce(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (r *replica) startOnce(ctx context.Context) error {
	r.mu.Lock()
	r.starts++
	logPath := filepath.Join(r.logDir, fmt.Sprintf("baton-%d.log", r.id))
	r.mu.Unlock()
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "==== chaos: start %s\n", time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(r.bin, "serve", "--config", r.config, "--listen", r.addr)
	cmd.Env = append(os.Environ(), r.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("replica %d: %w", r.id, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	r.mu.Lock()
	r.cmd, r.exited = cmd, exited
	r.mu.Unlock()
	readyBy := time.Now().Add(15 * time.Second)
	for {
		if ready(r.URL()) {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("replica %d exited at start: %s", r.id, redisproc.LastLines(logPath, 3))
		case <-ctx.Done():
			r.kill()
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(readyBy) {
			r.kill()
			return fmt.Errorf("replica %d not ready within 15s: %s", r.id, redisproc.LastLines(logPath, 3))
		}
	}
}

// kill sends SIGKILL and waits for the process; a stopped replica is left alone.
func (r *replica) kill() {
	r.mu.Lock()
	cmd, exited := r.cmd, r.exited
	r.cmd = nil
	if cmd != nil {
		r.kills++
	}
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exited
}

// running reports whether the process is up (it may have died by itself).
func (r *replica) running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return false
	}
	select {
	case <-r.exited:
		return false
	default:
		return true
	}
}

var readyClient = &http.Client{Timeout: 2 * time.Second}

func ready(base string) bool {
	resp, err := readyClient.Get(base + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// world is what the config describes: people, services, their channels.
type world struct {
	people   []string // person ids p0…; Slack ids "U0" + upper(id)
	services []string // svc0…; alerts channel "alerts-<service>"
	repage   time.Duration
	escalate time.Duration
}

func slackID(person string) string { return "U0" + strings.ToUpper(person) }

const (
	apiToken    = "chaos-api-token-0123456789"
	sumoToken   = "chaos-sumologic-token"
	cwToken     = "chaos-cloudwatch-token"
	genToken    = "chaos-generic-token"
	snsTopicARN = "arn:aws:sns:us-east-1:123456789012:baton-chaos"
)

// configYAML is baton's config for every replica: the same Redis, the same
// fake Slack; each service pages its own person at level 1 and the next
// person at level 2, re-paging every w.repage.
func configYAML(w world, redisSection, slackAPI string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "http:\n  listen: 127.0.0.1:0\napi:\n  token: %s\nredis:\n%s  prefix: \"chaos:\"\n", apiToken, redisSection)
	fmt.Fprintf(&b, "intake:\n  tokens:\n    sumologic: %s\n    cloudwatch: %s\n    generic: %s\n", sumoToken, cwToken, genToken)
	fmt.Fprintf(&b, "  cloudwatch:\n    topic_arns: [%s]\n", snsTopicARN)
	fmt.Fprintf(&b, "log:\n  level: info\n")
	fmt.Fprintf(&b, "slack:\n  bot_token: xoxb-fakeslack-bot-token\n  app_token: xapp-fakeslack-app-token\n  api_url: %s\n  archive_after: 24h\n", slackAPI)
	b.WriteString("services:\n")
	for _, s := range w.services {
		fmt.Fprintf(&b, "  - name: %s\n    escalation_policy: pol-%s\n    alerts_channel: \"#alerts-%s\"\n", s, s, s)
	}
	b.WriteString("people:\n")
	for _, p := range w.people {
		fmt.Fprintf(&b, "  - id: %s\n    name: Person %s\n    email: %s@chaos.example\n    slack: %s\n    timezone: UTC\n", p, p, p, slackID(p))
	}
	b.WriteString("escalation_policies:\n")
	for i, s := range w.services {
		p1, p2 := w.people[i%len(w.people)], w.people[(i+1)%len(w.people)]
		fmt.Fprintf(&b, "  - name: pol-%s\n    repage_every: %s\n    repeat: 0\n    ack_timeout: 0s\n    levels:\n", s, w.repage)
		fmt.Fprintf(&b, "      - targets: [user:%s]\n        escalate_after: %s\n", p1, w.escalate)
		fmt.Fprintf(&b, "      - targets: [user:%s]\n        escalate_after: %s\n", p2, w.escalate)
	}
	return b.String()
}
