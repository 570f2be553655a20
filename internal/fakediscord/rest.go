package fakediscord

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxBody bounds a REST request body (Discord's own upload limit for bots
// without boosts is 10 MiB; the fake allows a little more).
const maxBody = 12 << 20

// Routes, named as Call.Route records them and FailNext and SetLimit take them.
const (
	RouteGateway         = "GET gateway"
	RouteGatewayBot      = "GET gateway/bot"
	RouteMe              = "GET users/@me"
	RouteCommandsPut     = "PUT applications/{app}/guilds/{guild}/commands"
	RouteCommandsGet     = "GET applications/{app}/guilds/{guild}/commands"
	RouteGuildGet        = "GET guilds/{guild}"
	RouteGuildChannels   = "GET guilds/{guild}/channels"
	RouteChannelCreate   = "POST guilds/{guild}/channels"
	RouteChannelGet      = "GET channels/{channel}"
	RouteMessages        = "GET channels/{channel}/messages"
	RouteMessageGet      = "GET channels/{channel}/messages/{message}"
	RouteMessagePost     = "POST channels/{channel}/messages"
	RouteMessageEdit     = "PATCH channels/{channel}/messages/{message}"
	RoutePin             = "PUT channels/{channel}/pins/{message}"
	RoutePins            = "GET channels/{channel}/pins"
	RouteReactionAdd     = "PUT channels/{channel}/messages/{message}/reactions/{emoji}/@me"
	RouteDMOpen          = "POST users/@me/channels"
	RouteUserGet         = "GET users/{user}"
	RouteCallback        = "POST interactions/{id}/{token}/callback"
	RouteFollowup        = "POST webhooks/{app}/{token}"
	RouteWebhookEdit     = "PATCH webhooks/{app}/{token}/messages/{message}"
	routeNotFound        = "404"
	majorParamsSeparator = "|"
)

// Call is one recorded REST request and the fake's answer to it.
type Call struct {
	Seq   int       `json:"seq"` // 1, 2, 3… across all routes, in arrival order
	Route string    `json:"route"`
	Path  string    `json:"path"` // the request path after the API base, query included
	At    time.Time `json:"at"`
	// Body is the JSON the client sent (a multipart request's payload_json);
	// nil when there was none.
	Body   json.RawMessage `json:"body,omitempty"`
	Status int             `json:"status"`
	// Code is Discord's error code of a refused call (50035 Invalid Form
	// Body, 10062 Unknown interaction, …); 0 otherwise.
	Code int `json:"code,omitempty"`
	// Fault is true when the answer came from FailNext, InjectFaults or the
	// rate-limit model rather than from the route itself.
	Fault    bool            `json:"fault,omitempty"`
	Response json.RawMessage `json:"response,omitempty"`
}

// OK reports a 2xx answer.
func (c Call) OK() bool { return c.Status >= 200 && c.Status < 300 }

// Field decodes one top-level field of the request body into v and reports
// whether it was there.
func (c Call) Field(name string, v any) bool {
	var obj map[string]json.RawMessage
	if json.Unmarshal(c.Body, &obj) != nil {
		return false
	}
	raw, ok := obj[name]
	if !ok {
		return false
	}
	return json.Unmarshal(raw, v) == nil
}

// apiError is Discord's error answer: {"message","code","errors"}.
type apiError struct {
	status  int
	code    int
	message string
	errors  formErrors
}

func (e *apiError) body() []byte {
	m := map[string]any{"message": e.message, "code": e.code}
	if len(e.errors) > 0 {
		m["errors"] = e.errors.nested()
	}
	b, _ := json.Marshal(m)
	return b
}

func errNotFound(code int, what string) *apiError {
	return &apiError{status: http.StatusNotFound, code: code, message: "Unknown " + what}
}

func errForbidden(code int, msg string) *apiError {
	return &apiError{status: http.StatusForbidden, code: code, message: msg}
}

func errBadRequest(code int, msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, message: msg}
}

// formErrors maps a dotted field path ("embeds.0.description") to Discord's
// error code and message for it.
type formErrors map[string][2]string

func (fe formErrors) add(path, code, msg string) { fe[path] = [2]string{code, msg} }

func (fe formErrors) err() *apiError {
	if len(fe) == 0 {
		return nil
	}
	return &apiError{status: http.StatusBadRequest, code: 50035, message: "Invalid Form Body", errors: fe}
}

// nested is the errors object as Discord nests it:
// {"embeds":{"0":{"description":{"_errors":[{"code","message"}]}}}}.
func (fe formErrors) nested() map[string]any {
	root := map[string]any{}
	for path, e := range fe {
		node := root
		parts := strings.Split(path, ".")
		for _, p := range parts {
			next, _ := node[p].(map[string]any)
			if next == nil {
				next = map[string]any{}
				node[p] = next
			}
			node = next
		}
		node["_errors"] = []map[string]string{{"code": e[0], "message": e[1]}}
	}
	return root
}

// request is one REST call as a route sees it.
type request struct {
	r     *http.Request
	body  []byte // JSON body or payload_json
	files []File
}

func (q *request) param(name string) string { return q.r.PathValue(name) }

func (q *request) decode(v any) *apiError {
	if len(bytes.TrimSpace(q.body)) == 0 {
		return errBadRequest(50109, "The request body contains invalid JSON.")
	}
	if err := json.Unmarshal(q.body, v); err != nil {
		return errBadRequest(50109, "The request body contains invalid JSON.")
	}
	return nil
}

// reply is a route's answer: a status and a JSON value, or an error.
type reply struct {
	status int
	value  any
	err    *apiError
}

func okReply(v any) reply              { return reply{status: http.StatusOK, value: v} }
func created(v any) reply              { return reply{status: http.StatusCreated, value: v} }
func noContent() reply                 { return reply{status: http.StatusNoContent} }
func failReply(e *apiError) reply      { return reply{err: e} }
func (r reply) withStatus(n int) reply { r.status = n; return r }

type routeFn func(s *Server, q *request) reply

// route registers fn under the API base for a route such as
// "POST channels/{channel}/messages"; auth says whether it needs the bot token.
func (s *Server) route(route string, auth bool, fn routeFn) {
	method, path, _ := strings.Cut(route, " ")
	s.mux.HandleFunc(method+" /api/v10/"+path, func(w http.ResponseWriter, r *http.Request) {
		s.serveREST(w, r, route, auth, fn)
	})
}

func (s *Server) serveREST(w http.ResponseWriter, r *http.Request, route string, auth bool, fn routeFn) {
	q := &request{r: r}
	perr := readBody(w, r, q)

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "fakediscord: closed", http.StatusServiceUnavailable)
		return
	}
	ans := s.runREST(r, route, auth, fn, q, perr)
	s.callSeq++
	path := strings.TrimPrefix(r.URL.RequestURI(), "/api/v10/")
	call := Call{Seq: s.callSeq, Route: route, Path: path, At: s.now(), Status: ans.status,
		Code: ans.code, Fault: ans.fault, Response: ans.body}
	if len(bytes.TrimSpace(q.body)) > 0 && json.Valid(q.body) {
		call.Body = json.RawMessage(bytes.Clone(q.body))
	}
	s.calls = append(s.calls, call)
	s.bump()
	s.mu.Unlock()

	s.logf("%s %s → %d %d", r.Method, path, ans.status, ans.code)
	for k, v := range ans.header {
		w.Header().Set(k, v)
	}
	if ans.body != nil {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(ans.status)
	_, _ = w.Write(ans.body)
}

// answer is what goes on the wire.
type answer struct {
	status int
	code   int
	header map[string]string
	body   []byte
	fault  bool
}

func errorAnswer(e *apiError) answer {
	return answer{status: e.status, code: e.code, body: e.body(), header: map[string]string{}}
}

// runREST decides the answer to one call. Callers hold s.mu.
func (s *Server) runREST(r *http.Request, route string, auth bool, fn routeFn, q *request, perr error) answer {
	if auth && r.Header.Get("Authorization") != "Bot "+s.cfg.token {
		return errorAnswer(&apiError{status: http.StatusUnauthorized, message: "401: Unauthorized"})
	}
	if perr != nil {
		return errorAnswer(errBadRequest(50109, "The request body contains invalid JSON."))
	}
	if f, ok := s.takeFault(route, r.URL.Path, q.body); ok {
		if f.Applied {
			_ = fn(s, q)
		}
		return faultAnswer(f, s.now())
	}
	key := bucketKey(route, r)
	hdr, wait, ok := s.admit(route, key)
	if !ok {
		a := faultAnswer(TooManyRequests(wait), s.now())
		for k, v := range hdr {
			a.header[k] = v
		}
		a.header["X-RateLimit-Scope"] = "user"
		return a
	}
	rep := fn(s, q)
	var a answer
	if rep.err != nil {
		a = errorAnswer(rep.err)
	} else {
		a = answer{status: rep.status, header: map[string]string{}}
		if rep.status != http.StatusNoContent {
			b, err := json.Marshal(rep.value)
			if err != nil {
				b = []byte(fmt.Sprintf(`{"message":"fakediscord encode: %s","code":0}`, err))
			}
			a.body = b
		}
	}
	for k, v := range hdr {
		a.header[k] = v
	}
	return a
}

// bucketKey is the route plus its major parameters: Discord keeps one bucket
// per channel, guild or webhook for the same route.
func bucketKey(route string, r *http.Request) string {
	key := route
	for _, p := range []string{"channel", "guild", "app", "token", "id"} {
		if v := r.PathValue(p); v != "" {
			key += majorParamsSeparator + v
		}
	}
	return key
}

// readBody reads a JSON body, or a multipart body's payload_json and its
// files[n] parts.
func readBody(w http.ResponseWriter, r *http.Request, q *request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		b, err := io.ReadAll(r.Body)
		q.body = b
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(b)) > 0 && !json.Valid(b) {
			return fmt.Errorf("invalid JSON")
		}
		return nil
	}
	if params["boundary"] == "" {
		return fmt.Errorf("multipart without boundary")
	}
	if err := r.ParseMultipartForm(maxBody); err != nil {
		return err
	}
	q.body = []byte(r.FormValue("payload_json"))
	for name, hs := range r.MultipartForm.File {
		if !strings.HasPrefix(name, "files[") {
			continue
		}
		for _, h := range hs {
			f, err := h.Open()
			if err != nil {
				return err
			}
			data, err := io.ReadAll(f)
			_ = f.Close()
			if err != nil {
				return err
			}
			q.files = append(q.files, File{Name: h.Filename, ContentType: h.Header.Get("Content-Type"),
				Size: len(data), Data: data})
		}
	}
	if len(q.body) > 0 && !json.Valid(q.body) {
		return fmt.Errorf("invalid payload_json")
	}
	return nil
}

// secs formats a duration in seconds with millisecond precision, as Discord's
// retry_after and X-RateLimit-Reset-After are.
func secs(d time.Duration) string {
	return strconv.FormatFloat(math.Ceil(d.Seconds()*1000)/1000, 'f', 3, 64)
}

// notFound answers every path under the API base that no route matches.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.callSeq++
	body := []byte(`{"message":"404: Not Found","code":0}`)
	s.calls = append(s.calls, Call{Seq: s.callSeq, Route: routeNotFound, Path: strings.TrimPrefix(r.URL.RequestURI(), "/api/v10/"),
		At: s.now(), Status: http.StatusNotFound, Response: body})
	s.bump()
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write(body)
}
