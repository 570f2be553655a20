package fakeslack

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The injection API: what people do in the fake workspace, delivered to the
// app over Socket Mode exactly as Slack shapes it.

// responseTarget is what a response_url refers to.
type responseTarget struct {
	env       *envelope
	messageTS string // the message an interaction came from
	uses      int
}

// maxResponseURLUses is how many times Slack lets an app use one response_url.
const maxResponseURLUses = 5

// newResponseURL hands out a response_url for e. Callers hold s.mu.
func (s *Server) newResponseURL(messageTS string) (string, *responseTarget) {
	id := randomID(12)
	t := &responseTarget{messageTS: messageTS}
	s.sock.responseURLs[id] = t
	return s.url + "/response/" + id, t
}

func triggerID() string { return "4242424242.4242424242." + randomID(16) }

// SendSlashCommand delivers a slash command typed by user in channel (id or
// "#name") as a slash_commands envelope and returns its envelope id. The
// payload carries a response_url on the fake; an ack payload with text or
// blocks is shown to the user as Slack would (ephemeral unless
// response_type is in_channel).
func (s *Server) SendSlashCommand(user, channel, command, text string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, c, err := s.actor(user, channel)
	if err != nil {
		return "", fmt.Errorf("fakeslack: slash command: %w", err)
	}
	if !strings.HasPrefix(command, "/") {
		return "", fmt.Errorf("fakeslack: slash command %q does not start with /", command)
	}
	respURL, target := s.newResponseURL("")
	payload := map[string]any{
		"token":                 VerificationToken,
		"team_id":               s.cfg.teamID,
		"team_domain":           s.cfg.teamDomain,
		"channel_id":            c.ID,
		"channel_name":          channelName(c),
		"user_id":               u.ID,
		"user_name":             u.Name,
		"command":               command,
		"text":                  text,
		"api_app_id":            s.cfg.appID,
		"is_enterprise_install": false,
		"response_url":          respURL,
		"trigger_id":            triggerID(),
	}
	e, err := s.newEnvelope("slash_commands", payload, true, u.ID, c.ID, "", respURL)
	if err != nil {
		return "", err
	}
	target.env = e
	return e.ID, nil
}

// SendBlockAction delivers a click by user on the element with actionID in
// the message at messageTS (a button of an incident card, say) as an
// interactive block_actions envelope and returns its envelope id. The element
// must exist in the message's blocks (where several share actionID, the one
// whose value is value); its block_id, type and text go into the payload,
// and value defaults to the element's own value when empty.
func (s *Server) SendBlockAction(user, channel, messageTS, actionID, value string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, c, err := s.actor(user, channel)
	if err != nil {
		return "", fmt.Errorf("fakeslack: block action: %w", err)
	}
	m := c.byTS[messageTS]
	if m == nil {
		return "", fmt.Errorf("fakeslack: block action: no message %s in %s", messageTS, c.ID)
	}
	blockID, elem, ok := findElement(m.Blocks, actionID, value)
	if !ok {
		return "", fmt.Errorf("fakeslack: block action: message %s has no element with action_id %q", messageTS, actionID)
	}
	if value == "" {
		value, _ = elem["value"].(string)
	}
	now := s.now()
	action := map[string]any{
		"action_id": actionID,
		"block_id":  blockID,
		"type":      elem["type"],
		"value":     value,
		"action_ts": formatTS(now.UnixMicro()),
	}
	if t, ok := elem["text"]; ok {
		action["text"] = t
	}
	respURL, target := s.newResponseURL(m.TS)
	payload := map[string]any{
		"type":       "block_actions",
		"user":       map[string]any{"id": u.ID, "username": u.Name, "name": u.Name, "team_id": s.cfg.teamID},
		"api_app_id": s.cfg.appID,
		"token":      VerificationToken,
		"container": map[string]any{
			"type": "message", "message_ts": m.TS, "channel_id": c.ID, "is_ephemeral": false,
		},
		"trigger_id":            triggerID(),
		"team":                  map[string]any{"id": s.cfg.teamID, "domain": s.cfg.teamDomain},
		"is_enterprise_install": false,
		"channel":               map[string]any{"id": c.ID, "name": channelName(c)},
		"message":               s.messageJSON(c, m),
		"state":                 map[string]any{"values": map[string]any{}},
		"response_url":          respURL,
		"actions":               []any{action},
	}
	if m.ThreadTS != "" {
		payload["container"].(map[string]any)["thread_ts"] = m.ThreadTS
	}
	e, err := s.newEnvelope("interactive", payload, false, u.ID, c.ID, "", respURL)
	if err != nil {
		return "", err
	}
	target.env = e
	return e.ID, nil
}

// AddReaction records user's reaction on a message (as a person clicking an
// emoji would) and delivers the events_api reaction_added envelope; it
// returns the envelope id. The event_id is in Envelope.EventID.
func (s *Server) AddReaction(user, channel, ts, reaction string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, c, err := s.actor(user, channel)
	if err != nil {
		return "", fmt.Errorf("fakeslack: reaction: %w", err)
	}
	m := c.byTS[ts]
	if m == nil {
		return "", fmt.Errorf("fakeslack: reaction: no message %s in %s", ts, c.ID)
	}
	name := strings.Trim(reaction, ":")
	envID, added := s.addReaction(c, m, u.ID, name)
	if !added {
		return "", fmt.Errorf("fakeslack: reaction: %s already reacted %s", u.ID, name)
	}
	return envID, nil
}

// sendReactionAdded delivers a reaction_added event. Callers hold s.mu.
func (s *Server) sendReactionAdded(c *channelState, m *Message, user, name string) string {
	now := s.now()
	eventID, payload := s.eventCallback(map[string]any{
		"type":      "reaction_added",
		"user":      user,
		"reaction":  name,
		"item_user": m.User,
		"item":      map[string]any{"type": "message", "channel": c.ID, "ts": m.TS},
		"event_ts":  formatTS(now.UnixMicro()),
	}, now)
	e, err := s.newEnvelope("events_api", payload, false, user, c.ID, eventID, "")
	if err != nil {
		return ""
	}
	return e.ID
}

// actor resolves the user and channel of an injected action. Callers hold s.mu.
func (s *Server) actor(user, channel string) (*User, *channelState, error) {
	u := s.ws.usersByID[user]
	if u == nil {
		return nil, nil, fmt.Errorf("no user %s", user)
	}
	c := s.lookupChannel(channel)
	if c == nil {
		return nil, nil, fmt.Errorf("no channel %s", channel)
	}
	return u, c, nil
}

func channelName(c *channelState) string {
	if c.IsIM {
		return "directmessage"
	}
	return c.Name
}

// findElement finds the interactive element with actionID in a message's
// blocks: in an actions block's elements or a section's accessory. Slack
// wants an action_id unique only within its block, so a message may carry
// the same action_id in several blocks (a bundled page: one Acknowledge per
// incident, told apart by value): with value set, the element whose value
// is value is preferred, else the first with actionID. Blocks without a
// block_id get the positional id Slack-like payloads need.
func findElement(raw json.RawMessage, actionID, value string) (blockID string, elem map[string]any, ok bool) {
	var firstID string
	var first map[string]any
	for id, el := range elements(raw) {
		if el["action_id"] != actionID {
			continue
		}
		if v, _ := el["value"].(string); value == "" || v == value {
			return id, el, true
		}
		if first == nil {
			firstID, first = id, el
		}
	}
	return firstID, first, first != nil
}

// elements yields every interactive element of a message's blocks, in
// order, with the id of its block.
func elements(raw json.RawMessage) iter.Seq2[string, map[string]any] {
	return func(yield func(string, map[string]any) bool) {
		var blocks []map[string]any
		if json.Unmarshal(raw, &blocks) != nil {
			return
		}
		for i, b := range blocks {
			id, _ := b["block_id"].(string)
			if id == "" {
				id = fmt.Sprintf("fakeslack-block-%d", i)
			}
			var candidates []any
			if els, ok := b["elements"].([]any); ok {
				candidates = append(candidates, els...)
			}
			if acc, ok := b["accessory"]; ok {
				candidates = append(candidates, acc)
			}
			for _, c := range candidates {
				if el, ok := c.(map[string]any); ok && !yield(id, el) {
					return
				}
			}
		}
	}
}

// serveResponseURL takes a POST to a response_url: recorded, then shown as
// Slack would (ephemeral, in_channel, replace_original, delete_original).
// Faults queued for the pseudo-method "response_url" apply here.
func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var msg struct {
		Text            string          `json:"text"`
		Blocks          json.RawMessage `json:"blocks"`
		ResponseType    string          `json:"response_type"`
		ReplaceOriginal bool            `json:"replace_original"`
		DeleteOriginal  bool            `json:"delete_original"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		writeJSON(w, http.StatusBadRequest, `{"ok":false,"error":"invalid_payload"}`)
		return
	}

	s.mu.Lock()
	t := s.sock.responseURLs[r.PathValue("id")]
	if t == nil || t.env == nil || s.closed {
		s.mu.Unlock()
		writeJSON(w, http.StatusNotFound, `{"ok":false,"error":"no_such_url"}`)
		return
	}
	if f, faulted := s.takeFault("response_url", nil); faulted {
		s.mu.Unlock()
		a := faultAnswer(f)
		if a.retryAfter > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(a.retryAfter))
		}
		writeJSON(w, a.status, string(a.body))
		return
	}
	if t.uses >= maxResponseURLUses {
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, `{"ok":false,"error":"used_url"}`)
		return
	}
	t.uses++
	blocks := nonEmptyJSON(msg.Blocks)
	s.sock.responsePosts = append(s.sock.responsePosts, ResponsePost{
		EnvelopeID: t.env.ID, At: s.now(), Text: msg.Text, Blocks: blocks, ResponseType: msg.ResponseType,
		ReplaceOriginal: msg.ReplaceOriginal, DeleteOriginal: msg.DeleteOriginal, Body: body,
	})
	c := s.ws.chanByID[t.env.channel]
	var orig *Message
	if c != nil && t.messageTS != "" {
		orig = c.byTS[t.messageTS]
	}
	switch {
	case msg.DeleteOriginal && orig != nil:
		s.deleteMessage(c, orig)
	case msg.ReplaceOriginal && orig != nil:
		orig.Text, orig.Blocks, orig.EditedTS = msg.Text, blocks, s.nextTS()
		s.emit(Event{Kind: EventMessageUpdated, Channel: c.ID, TS: orig.TS, User: orig.User})
	case msg.Text != "" || blocks != nil:
		s.respond(t.env, msg.ResponseType, msg.Text, blocks, "response_url")
	}
	s.emit(Event{Kind: EventResponseURL, Detail: t.env.ID, User: t.env.user, Channel: t.env.channel})
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, `{"ok":true}`)
}

// ResponsePosts returns what was posted to response URLs, for one envelope
// or ("" ) for all, oldest first.
func (s *Server) ResponsePosts(envelopeID string) []ResponsePost {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ResponsePost
	for _, p := range s.sock.responsePosts {
		if envelopeID == "" || p.EnvelopeID == envelopeID {
			p.Blocks = slices.Clone(p.Blocks)
			p.Body = slices.Clone(p.Body)
			out = append(out, p)
		}
	}
	return out
}

// serveUpload takes the file bytes of files.uploadV2's second step, raw or
// as multipart (slack-go sends a "file" part).
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	_, known := s.ws.files[id]
	s.mu.Unlock()
	if !known {
		http.Error(w, "fakeslack: no such upload", http.StatusNotFound)
		return
	}
	data, err := readUpload(w, r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	f := s.ws.files[id]
	f.Content, f.Size, f.Uploaded = data, len(data), true
	s.bump()
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "OK - %d", len(data))
}

func readUpload(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, 64<<20)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		return io.ReadAll(body)
	}
	r.Body = body
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, err
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, errors.New("multipart upload without a file part")
		}
		if err != nil {
			return nil, err
		}
		if part.FileName() != "" || part.FormName() == "file" {
			return io.ReadAll(part)
		}
	}
}

// serveFile serves an uploaded file's content (the demo page shows charts).
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	f, ok := s.File(r.PathValue("id"))
	if !ok || !f.Uploaded {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", http.DetectContentType(f.Content))
	_, _ = w.Write(f.Content)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// eventCallback wraps ev in the Events API's event_callback payload, as
// Slack sends it over Socket Mode, with a fresh event id. It returns the
// id and the payload.
func (s *Server) eventCallback(ev map[string]any, now time.Time) (string, map[string]any) {
	eventID := "Ev" + strings.ToUpper(randomID(5))
	return eventID, map[string]any{
		"token":      VerificationToken,
		"team_id":    s.cfg.teamID,
		"api_app_id": s.cfg.appID,
		"event":      ev,
		"type":       "event_callback",
		"event_id":   eventID,
		"event_time": now.Unix(),
		"authorizations": []any{map[string]any{
			"enterprise_id": nil, "team_id": s.cfg.teamID, "user_id": s.cfg.botUserID,
			"is_bot": true, "is_enterprise_install": false,
		}},
		"is_ext_shared_channel": false,
		"event_context":         "4-" + randomID(12),
	}
}
