package fakeslack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/batonhq/baton/internal/text"
)

// maxBody bounds a Web API request body; Slack's own limits are far lower for
// the methods here, files excepted (they go to /upload/).
const maxBody = 8 << 20

type authKind int

const (
	authBot authKind = iota // the bot token, as form field "token" or Bearer header
	authApp                 // the app-level token, Bearer header (apps.connections.open)
)

// apiMethod is one Web API method: which token it takes and what it does.
// fn runs under s.mu and must leave the state untouched when it fails.
type apiMethod struct {
	auth authKind
	fn   func(s *Server, p map[string][]string) result
}

// apiMethods lists every method the fake implements; anything else is
// answered unknown_method.
var apiMethods = map[string]apiMethod{
	"auth.test":                    {authBot, (*Server).authTest},
	"apps.connections.open":        {authApp, (*Server).appsConnectionsOpen},
	"conversations.create":         {authBot, (*Server).conversationsCreate},
	"conversations.invite":         {authBot, (*Server).conversationsInvite},
	"conversations.archive":        {authBot, (*Server).conversationsArchive},
	"conversations.open":           {authBot, (*Server).conversationsOpen},
	"conversations.info":           {authBot, (*Server).conversationsInfo},
	"conversations.setTopic":       {authBot, (*Server).conversationsSetTopic},
	"conversations.list":           {authBot, (*Server).conversationsList},
	"conversations.history":        {authBot, (*Server).conversationsHistory},
	"conversations.replies":        {authBot, (*Server).conversationsReplies},
	"chat.postMessage":             {authBot, (*Server).chatPostMessage},
	"chat.update":                  {authBot, (*Server).chatUpdate},
	"chat.postEphemeral":           {authBot, (*Server).chatPostEphemeral},
	"chat.delete":                  {authBot, (*Server).chatDelete},
	"pins.add":                     {authBot, (*Server).pinsAdd},
	"reactions.add":                {authBot, (*Server).reactionsAdd},
	"users.info":                   {authBot, (*Server).usersInfo},
	"users.lookupByEmail":          {authBot, (*Server).usersLookupByEmail},
	"files.getUploadURLExternal":   {authBot, (*Server).filesGetUploadURLExternal},
	"files.completeUploadExternal": {authBot, (*Server).filesCompleteUploadExternal},
}

// Methods lists the Web API methods the fake implements, sorted.
func Methods() []string { return slices.Sorted(maps.Keys(apiMethods)) }

// result is a method's answer: ok with fields, or ok:false with an error
// code (and optional extra fields such as "errors").
type result struct {
	err    string
	fields map[string]any
}

func ok(fields map[string]any) result { return result{fields: fields} }

func fail(code string) result { return result{err: code} }

// answer is what goes on the wire.
type answer struct {
	status     int
	retryAfter int // seconds; 0 sends no header
	body       []byte
	json       bool
	callErr    string
	fault      bool
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	params, bearer, perr := readParams(w, r)
	token := params.Get("token")
	if token == "" {
		token = bearer
	}
	params.Del("token")

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "fakeslack: closed", http.StatusServiceUnavailable)
		return
	}
	a := s.runAPI(method, token, params, perr)
	s.callSeq++
	call := Call{
		Seq:    s.callSeq,
		Method: method,
		At:     s.now(),
		Params: params,
		Blocks: decodeBlocks(params.Get("blocks")),
		Status: a.status,
		OK:     a.status == http.StatusOK && a.callErr == "",
		Error:  a.callErr,
		Fault:  a.fault,
	}
	if a.json {
		call.Response = a.body
	}
	s.calls = append(s.calls, call)
	s.emit(Event{Kind: EventCall, Detail: method, Channel: params.Get("channel")})
	s.mu.Unlock()

	s.logf("%s %s → %d %s", method, summarize(params), a.status, a.callErr)
	if a.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(a.retryAfter))
	}
	if a.json {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// runAPI decides the answer to one call. Callers hold s.mu.
func (s *Server) runAPI(method, token string, params url.Values, perr error) answer {
	m, known := apiMethods[method]
	var res result
	switch {
	case !known:
		res = fail("unknown_method")
	case perr != nil:
		res = fail("invalid_form_data")
	default:
		if code := s.checkAuth(m.auth, token); code != "" {
			res = fail(code)
			break
		}
		if f, ok := s.takeFault(method, params); ok {
			if f.Applied {
				m.fn(s, params) // done; only its answer is lost
			}
			return faultAnswer(f)
		}
		if wait, ok := s.admit(method, params); !ok {
			return faultAnswer(TooManyRequests(wait))
		}
		res = m.fn(s, params)
	}
	return jsonAnswer(res)
}

func jsonAnswer(res result) answer {
	body := map[string]any{}
	for k, v := range res.fields {
		body[k] = v
	}
	body["ok"] = res.err == ""
	if res.err != "" {
		body["error"] = res.err
	}
	b, err := json.Marshal(body)
	if err != nil {
		b = []byte(fmt.Sprintf(`{"ok":false,"error":"fakeslack_encode: %s"}`, err))
	}
	return answer{status: http.StatusOK, body: b, json: true, callErr: res.err}
}

func faultAnswer(f Fault) answer {
	switch {
	case f.Status == 0 || f.Status == http.StatusOK:
		a := jsonAnswer(fail(f.Error))
		a.fault = true
		return a
	case f.Status == http.StatusTooManyRequests:
		a := answer{status: f.Status, body: []byte(`{"ok":false,"error":"ratelimited"}`), json: true,
			callErr: "ratelimited", fault: true}
		if f.RetryAfter > 0 {
			a.retryAfter = retryAfterSeconds(f.RetryAfter)
		}
		return a
	default:
		body := fmt.Sprintf("<html><body>fakeslack: injected HTTP %d</body></html>", f.Status)
		return answer{status: f.Status, body: []byte(body), fault: true}
	}
}

// checkAuth returns the Slack error for a token, or "" when it is accepted.
func (s *Server) checkAuth(kind authKind, token string) string {
	switch {
	case token == "":
		return "not_authed"
	case kind == authBot && token == s.cfg.botToken, kind == authApp && token == s.cfg.appToken:
		return ""
	case token == s.cfg.botToken || token == s.cfg.appToken:
		return "not_allowed_token_type"
	default:
		return "invalid_auth"
	}
}

// readParams collects a call's arguments from wherever the client put them:
// the query string, a form body (slack-go's form-encoded methods), a
// multipart body, or a JSON object (slack-go's JSON methods; non-string
// values such as blocks arrays are kept as their JSON text). It also returns
// the Bearer token of the Authorization header.
func readParams(w http.ResponseWriter, r *http.Request) (url.Values, string, error) {
	bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	switch ct {
	case "application/json":
		v := r.URL.Query()
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return v, bearer, err
		}
		body = bytes.TrimSpace(body)
		if len(body) == 0 || string(body) == "null" {
			return v, bearer, nil
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(body, &obj); err != nil {
			return v, bearer, fmt.Errorf("json body: %w", err)
		}
		for k, raw := range obj {
			var str string
			if err := json.Unmarshal(raw, &str); err == nil {
				v.Set(k, str)
			} else {
				v.Set(k, string(raw))
			}
		}
		return v, bearer, nil
	case "multipart/form-data":
		if err := r.ParseMultipartForm(maxBody); err != nil {
			return url.Values{}, bearer, err
		}
		return cloneValues(r.Form), bearer, nil
	default:
		if err := r.ParseForm(); err != nil {
			return url.Values{}, bearer, err
		}
		return cloneValues(r.Form), bearer, nil
	}
}

// decodeBlocks decodes a blocks parameter for Call.Blocks; nil when absent or
// not an array of objects.
func decodeBlocks(raw string) []map[string]any {
	if raw == "" {
		return nil
	}
	var out []map[string]any
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return nil
	}
	return out
}

// parseBlocks validates a blocks parameter the way Slack rejects it: a JSON
// array of at most 50 objects, each with a string "type".
func parseBlocks(raw string) (json.RawMessage, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	var blocks []map[string]any
	if err := json.Unmarshal([]byte(raw), &blocks); err != nil {
		return nil, err
	}
	if len(blocks) > 50 {
		return nil, errors.New("more than 50 blocks")
	}
	for i, b := range blocks {
		if t, _ := b["type"].(string); t == "" {
			return nil, fmt.Errorf("block %d has no type", i)
		}
	}
	return json.RawMessage(raw), nil
}

func summarize(p url.Values) string {
	var parts []string
	for _, k := range []string{"channel", "name", "users", "user", "ts", "thread_ts", "timestamp", "text"} {
		if v := p.Get(k); v != "" {
			v = text.Truncate(v, 61)
			parts = append(parts, k+"="+strconv.Quote(v))
		}
	}
	return strings.Join(parts, " ")
}
