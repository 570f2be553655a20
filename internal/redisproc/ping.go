package redisproc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Login is what Ping sends before PING: AUTH when Password is set (with
// Username when that is set too), SELECT when DB is not 0.
type Login struct {
	Username string
	Password string
	DB       int
}

// Ping checks that a Redis answers PING at addr, logged in as l, within a
// second (or ctx's end, if sooner). It speaks RESP itself rather than
// through go-redis, whose pool logs every failed dial: a missing Redis is an
// expected answer to whoever asks, not an error to log.
func Ping(ctx context.Context, addr string, l Login) error {
	if addr == "" {
		return errors.New("no address")
	}
	c, err := dial(ctx, addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	if l.Password != "" {
		args := []string{"AUTH", l.Password}
		if l.Username != "" {
			args = []string{"AUTH", l.Username, l.Password}
		}
		if _, err := c.do(args...); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if l.DB != 0 {
		if _, err := c.do("SELECT", strconv.Itoa(l.DB)); err != nil {
			return fmt.Errorf("select %d: %w", l.DB, err)
		}
	}
	line, err := c.do("PING")
	if err != nil {
		return err
	}
	if line != "PONG" {
		return fmt.Errorf("unexpected answer to PING: %q", line)
	}
	return nil
}

// isProcess reports, as a nil error, that the server at addr accepts
// commands and is process pid: a port that another server took between
// FreeAddr and Launch must not pass for ours.
func isProcess(ctx context.Context, addr, password string, pid int) error {
	c, err := dial(ctx, addr, 500*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	if password != "" {
		if _, err := c.do("AUTH", password); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	info, err := c.do("INFO", "server")
	if err != nil {
		return err
	}
	if !strings.Contains(info, "\nprocess_id:"+strconv.Itoa(pid)+"\r\n") {
		return fmt.Errorf("another server answers on %s", addr)
	}
	return nil
}

// conn is one RESP connection with a deadline for everything said on it.
type conn struct {
	net.Conn
	r *bufio.Reader
}

func dial(ctx context.Context, addr string, within time.Duration) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	deadline, _ := ctx.Deadline()
	_ = c.SetDeadline(deadline)
	return &conn{Conn: c, r: bufio.NewReader(c)}, nil
}

// do sends one command and returns its reply: a simple string, or a bulk
// string's contents. An error reply is an error.
func (c *conn) do(args ...string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(c, b.String()); err != nil {
		return "", err
	}
	line, err := c.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	switch {
	case strings.HasPrefix(line, "+"):
		return line[1:], nil
	case strings.HasPrefix(line, "-"):
		return "", errors.New(line[1:])
	case strings.HasPrefix(line, "$"):
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", fmt.Errorf("unexpected reply %q", line)
		}
		body := make([]byte, n+2) // and its CRLF
		if _, err := io.ReadFull(c.r, body); err != nil {
			return "", err
		}
		return string(body[:n]), nil
	}
	return "", fmt.Errorf("unexpected reply %q", line)
}
