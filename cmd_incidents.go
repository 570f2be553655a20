package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/text"
)

// The exit codes of the API client commands, for scripts.
const (
	exitOK       = 0
	exitError    = 1 // the request failed: network, credentials, bad input, baton unavailable
	exitUsage    = 2 // the command line is wrong (as every baton command)
	exitNotFound = 3 // no such incident (baton's own answer, never a wrong --url)
	exitConflict = 4 // the transition is not allowed (already acknowledged, resolved)
)

// defaultURL is where a baton started with the example config listens.
const defaultURL = "http://127.0.0.1:8080"

const incidentsUsage = `Usage:
  baton incidents [list] [--status open|triggered|acknowledged|resolved] [--limit N] [--all | --cursor C]
  baton incidents show N
  baton incidents ack N [note]        --by PERSON (or BATON_BY)
  baton incidents resolve N [note]    --by PERSON (or BATON_BY)
  baton incidents escalate N [note]   --by PERSON (or BATON_BY)

Talks to a running baton over its API: --url (or BATON_URL, default ` + defaultURL + `),
the token from BATON_API_TOKEN. --json prints the API's JSON. N is 42 or INC-42.
list shows one page (--limit, default 100; open incidents oldest first, resolved
ones most recently resolved first) and says when there are more: --all fetches
every page, --cursor C the next one (--json keeps the API's next_cursor).
Flags may follow the note; everything after -- is the note, so a note word
starting with - goes there: baton incidents ack 7 --by alice -- load fell -5%
Exit status: 0 ok, 1 error, 2 usage, 3 no such incident (baton said so; list
never), 4 the transition is not allowed.
`

// apiClient calls a running baton's /v1 API with api.token.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

// apiError is an answer other than 2xx: its status and the API's
// sentence; Baton is false when the body was not baton's JSON error.
type apiError struct {
	Status  int
	Message string
	Baton   bool
}

func (e *apiError) Error() string { return e.Message }

// exitCode maps a failed call to the command's exit status. A 404 is
// exitNotFound only when notFound recognises the API's sentence as baton's
// own answer for the route called (nil: never): a 404 from something that
// is not baton, or baton's "no route" for a wrong --url, is an error, so a
// script that acts on "no such incident" never acts on a wrong address.
func exitCode(err error, notFound func(msg string) bool) int {
	var ae *apiError
	if errors.As(err, &ae) {
		switch {
		case ae.Status == http.StatusNotFound && ae.Baton && notFound != nil && notFound(ae.Message):
			return exitNotFound
		case ae.Status == http.StatusConflict && ae.Baton:
			return exitConflict
		}
	}
	return exitError
}

// noSuchIncident matches baton's answer for an incident it does not have
// (incident.NewError's NotFound sentence).
var noSuchIncident = regexp.MustCompile(`^There is no (INC-[0-9]+|such incident)\.$`)

// isNoSuchIncident recognises baton's 404 for an incident route.
func isNoSuchIncident(msg string) bool { return noSuchIncident.MatchString(msg) }

// do sends a request and decodes a 2xx JSON answer into out (raw keeps
// the body as sent, for --json). A non-2xx answer is an *apiError with
// the API's sentence; anything else (no baton there, a proxy's HTML) is
// an error saying what was found.
func (c *apiClient) do(ctx context.Context, method, path string, body any, out any) (raw []byte, err error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("bad --url %q: %w", c.base, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("no answer from baton at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	raw, err = io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the answer of %s %s: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(raw, &e) != nil || e.Error == "" {
			return nil, &apiError{Status: resp.StatusCode, Message: fmt.Sprintf("%s %s answered %s, not baton's JSON: is --url a baton?", method, c.base+path, resp.Status)}
		}
		msg := e.Error
		switch {
		case resp.StatusCode == http.StatusUnauthorized:
			msg += " (set BATON_API_TOKEN to the api.token of the baton at " + c.base + ")"
		case resp.StatusCode == http.StatusNotFound && strings.HasPrefix(e.Error, "no route for "):
			msg += " (is --url the baton's base URL, without /v1?)"
		}
		return nil, &apiError{Status: resp.StatusCode, Message: msg, Baton: true}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, fmt.Errorf("%s %s answered something that is not baton's JSON: %w", method, c.base+path, err)
		}
	}
	return raw, nil
}

// incidentJSON is an incident as the API shows it (httpapi.IncidentView).
type incidentJSON struct {
	incident.Incident
	Ref      string           `json:"ref"`
	Timeline []incident.Event `json:"timeline"`
}

// interspersed parses fs from args allowing flags after positional
// arguments ("show 42 --json"); it returns the positional ones. After
// "--" every argument is positional, even one starting with "-" (a note
// such as "load fell -5%").
func interspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		args = rest
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func envValue(environ []string, key string) string {
	v := ""
	for _, kv := range environ {
		if s, ok := strings.CutPrefix(kv, key+"="); ok {
			v = s
		}
	}
	return v
}

// clientFlags adds --url and --json to fs.
func clientFlags(fs *flag.FlagSet, environ []string) (base *string, asJSON *bool) {
	def := defaultURL
	if v := envValue(environ, "BATON_URL"); v != "" {
		def = v
	}
	base = fs.String("url", def, "the running baton's base URL (env BATON_URL)")
	asJSON = fs.Bool("json", false, "print the API's JSON")
	return base, asJSON
}

func newAPIClient(base string, environ []string) (*apiClient, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--url must be an http or https URL such as %s (got %q)", defaultURL, base)
	}
	// A token read from a file ($(cat token)) or pasted often ends in a
	// newline, which no header may hold: the token is what is around it.
	token := strings.TrimSpace(envValue(environ, "BATON_API_TOKEN"))
	return &apiClient{base: strings.TrimSuffix(base, "/"), token: token, http: &http.Client{Timeout: 15 * time.Second}}, nil
}

// cmdIncidents is the terminal client for incidents: list, show, ack,
// resolve, escalate, over a running baton's API.
func cmdIncidents(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string, now func() time.Time) int {
	fs := flag.NewFlagSet("incidents", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, incidentsUsage) }
	base, asJSON := clientFlags(fs, environ)
	status := fs.String("status", "open", "list: open, triggered, acknowledged or resolved")
	limit := fs.Int("limit", 100, "list: at most this many (1-1000) per page")
	all := fs.Bool("all", false, "list: every page, not only the first")
	cursor := fs.String("cursor", "", "list: start at this page (the next_cursor a previous page gave)")
	by := fs.String("by", envValue(environ, "BATON_BY"), "ack, resolve, escalate: the person acting, an id in people (env BATON_BY)")
	pos, err := interspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "baton incidents: "+format+"\n\n%s", append(a, incidentsUsage)...)
		return exitUsage
	}
	c, err := newAPIClient(*base, environ)
	if err != nil {
		return usage("%v", err)
	}
	verb := "list"
	if len(pos) > 0 {
		verb, pos = pos[0], pos[1:]
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "baton incidents %s: %v\n", verb, err)
		if verb == "list" {
			return exitCode(err, nil)
		}
		return exitCode(err, isNoSuchIncident)
	}
	number := func() (string, bool) {
		if len(pos) == 0 {
			return "", false
		}
		raw := strings.TrimPrefix(strings.ToUpper(pos[0]), "INC-")
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 1 {
			return "", false
		}
		return strconv.FormatInt(n, 10), true
	}

	switch verb {
	case "list":
		if len(pos) > 0 {
			return usage("list takes no arguments (got %q)", pos)
		}
		if *limit < 1 || *limit > 1000 {
			return usage("--limit must be from 1 to 1000 (got %d)", *limit)
		}
		if *all && *cursor != "" {
			return usage("--all and --cursor do not go together: --all fetches every page from the first")
		}
		var list []incidentJSON
		var raws []json.RawMessage
		next := *cursor
		for {
			q := url.Values{"status": {*status}, "limit": {strconv.Itoa(*limit)}}
			if next != "" {
				q.Set("cursor", next)
			}
			var page struct {
				Incidents  []json.RawMessage `json:"incidents"`
				NextCursor string            `json:"next_cursor"`
			}
			if _, err := c.do(ctx, "GET", "/v1/incidents?"+q.Encode(), nil, &page); err != nil {
				return fail(err)
			}
			for _, r := range page.Incidents {
				var inc incidentJSON
				if err := json.Unmarshal(r, &inc); err != nil {
					return fail(fmt.Errorf("an incident in the answer is not baton's JSON: %w", err))
				}
				list = append(list, inc)
				raws = append(raws, r)
			}
			next = page.NextCursor
			if !*all || next == "" {
				break
			}
		}
		if *asJSON {
			out := map[string]any{"incidents": rawList(raws)}
			if next != "" {
				out["next_cursor"] = next
			}
			return printJSON(stdout, out)
		}
		printIncidentTable(stdout, list, now())
		if next != "" {
			fmt.Fprintf(stdout, "… %d shown; more: --all or --cursor %s\n", len(list), next)
		}
		return exitOK

	case "show":
		n, ok := number()
		if !ok || len(pos) != 1 {
			return usage("show takes one incident number such as 42 or INC-42 (got %q)", pos)
		}
		var inc incidentJSON
		raw, err := c.do(ctx, "GET", "/v1/incidents/"+n, nil, &inc)
		if err != nil {
			return fail(err)
		}
		if *asJSON {
			return printJSON(stdout, json.RawMessage(raw))
		}
		printIncident(stdout, inc)
		return exitOK

	case "ack", "resolve", "escalate":
		n, ok := number()
		if !ok {
			return usage("%s takes an incident number such as 42 or INC-42, then an optional note (got %q)", verb, pos)
		}
		if *by == "" {
			return usage("%s needs --by PERSON (or BATON_BY): the person acting, an id in people", verb)
		}
		note := strings.Join(pos[1:], " ")
		var inc incidentJSON
		raw, err := c.do(ctx, "POST", "/v1/incidents/"+n+"/"+verb, map[string]string{"by": *by, "note": note}, &inc)
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == http.StatusServiceUnavailable {
			ae.Message += " (check with: baton incidents show " + n + ")"
		}
		if err != nil {
			return fail(err)
		}
		if *asJSON {
			return printJSON(stdout, json.RawMessage(raw))
		}
		past := map[string]string{"ack": "acknowledged", "resolve": "resolved", "escalate": "escalated"}[verb]
		fmt.Fprintf(stdout, "%s %s by %s: %s, owner %s, level %d\n", inc.Ref, past, *by, inc.Status, orDash(inc.Owner), inc.Level)
		return exitOK
	}
	return usage("unknown subcommand %q", verb)
}

// rawList keeps a nil list as [] in --json.
func rawList(r []json.RawMessage) []json.RawMessage {
	if r == nil {
		return []json.RawMessage{}
	}
	return r
}

func printJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return exitError
	}
	return exitOK
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// statusText is an incident's status as the terminal shows it: a held
// incident says so and names its window ("triggered, held (mw-1)"), since
// nobody is paged about it until the window ends.
func statusText(inc incidentJSON) string {
	if inc.Held != "" {
		return fmt.Sprintf("%s, held (%s)", inc.Status, inc.Held)
	}
	return string(inc.Status)
}

// printIncidentTable writes one line per incident; AGE is since creation.
func printIncidentTable(w io.Writer, list []incidentJSON, now time.Time) {
	if len(list) == 0 {
		fmt.Fprintln(w, "no incidents")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INCIDENT\tSTATUS\tSEVERITY\tSERVICE\tOWNER\tALERTS\tAGE\tTITLE")
	for _, inc := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", inc.Ref, statusText(inc), inc.Severity, inc.Service, orDash(inc.Owner),
			inc.AlertCount, text.Duration(now.Sub(inc.Created).Truncate(time.Second)), text.Truncate(oneLine(inc.Title), 80))
	}
	tw.Flush()
}

// printIncident writes an incident and its timeline.
func printIncident(w io.Writer, inc incidentJSON) {
	const ts = "2006-01-02 15:04:05 MST"
	fmt.Fprintf(w, "%s  %s\n", inc.Ref, oneLine(inc.Title))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "status\t%s\n", statusText(inc))
	fmt.Fprintf(tw, "severity\t%s\n", inc.Severity)
	fmt.Fprintf(tw, "service\t%s\n", inc.Service)
	fmt.Fprintf(tw, "owner\t%s (level %d)\n", orDash(inc.Owner), inc.Level)
	fmt.Fprintf(tw, "alerts\t%d (source %s)\n", inc.AlertCount, inc.Source)
	fmt.Fprintf(tw, "created\t%s\n", inc.Created.Format(ts))
	if !inc.Acknowledged.IsZero() {
		fmt.Fprintf(tw, "acknowledged\t%s\n", inc.Acknowledged.Format(ts))
	}
	if !inc.Resolved.IsZero() {
		fmt.Fprintf(tw, "resolved\t%s\n", inc.Resolved.Format(ts))
	}
	for _, l := range inc.Links {
		fmt.Fprintf(tw, "link\t%s %s\n", l.Text, l.URL)
	}
	tw.Flush()
	if len(inc.Timeline) == 0 {
		return
	}
	fmt.Fprintln(w, "\ntimeline")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, e := range inc.Timeline {
		who := e.Person
		if e.By != "" && e.By != e.Person {
			who = strings.TrimSpace(e.Person + " by " + e.By)
		}
		extra := e.Note
		if e.Count > 1 {
			extra = strings.TrimSpace(fmt.Sprintf("%s (×%d)", extra, e.Count))
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", e.At.Format(ts), e.Type, who, oneLine(extra))
	}
	tw.Flush()
}
