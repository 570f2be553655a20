// Package openapitest keeps baton's HTTP routes and docs/openapi.yaml in
// step: Wrap puts a handler behind a checker that validates every answer
// (status, headers, body) and every accepted request against the document,
// and reports each mismatch as a test error, so an API test that changes a
// route's shape without changing the document fails. Operations lists the
// document's routes for the test that compares them with those registered.
//
// It is a test helper (it imports testing); only tests import it.
package openapitest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	vErrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/paths"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"

	"github.com/batonhq/baton/docs"
)

// spec is the parsed document and its validator, built once per test
// binary (building compiles every schema).
type spec struct {
	model *v3.Document
	opts  *config.ValidationOptions
	// mu serialises validations: the validator's caches are not documented
	// as safe for concurrent use, and tests serve requests concurrently.
	mu sync.Mutex
	v  validator.Validator
}

var (
	once    sync.Once
	loaded  *spec
	loadErr error
)

func load() (*spec, error) {
	once.Do(func() {
		doc, err := libopenapi.NewDocument(docs.OpenAPI)
		if err != nil {
			loadErr = fmt.Errorf("parse docs/openapi.yaml: %w", err)
			return
		}
		m, err := doc.BuildV3Model()
		if err != nil {
			loadErr = fmt.Errorf("build docs/openapi.yaml: %w", err)
			return
		}
		v, errs := validator.NewValidator(doc, config.WithFormatAssertions())
		if len(errs) > 0 {
			loadErr = fmt.Errorf("validator for docs/openapi.yaml: %v", errs)
			return
		}
		if ok, verrs := v.ValidateDocument(); !ok {
			loadErr = fmt.Errorf("docs/openapi.yaml is not a valid OpenAPI document: %s", describe(verrs))
			return
		}
		loaded = &spec{model: &m.Model, opts: config.NewValidationOptions(), v: v}
	})
	return loaded, loadErr
}

// Operations returns the document's routes as "METHOD /path/{param}",
// sorted: the form http.ServeMux patterns take.
func Operations(t testing.TB) []string {
	t.Helper()
	s, err := load()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for p, item := range s.model.Paths.PathItems.FromOldest() {
		for m := range item.GetOperations().KeysFromOldest() {
			out = append(out, strings.ToUpper(m)+" "+p)
		}
	}
	sort.Strings(out)
	return out
}

// Checker is an http.Handler that serves through another and checks each
// exchange against docs/openapi.yaml (Wrap).
type Checker struct {
	t    testing.TB
	next http.Handler
	s    *spec

	mu   sync.Mutex
	seen map[string]bool
}

// Wrap returns h behind a Checker reporting to t. Every answer is
// validated: its status must be one the document gives the operation, and
// its headers and body must match that status's description. A request is
// validated when it was accepted (2xx): what the code takes, the document
// must describe; a refused request is wrong on purpose in many tests, and
// its refusal is what is checked. A request to a route the document does
// not have is an error unless it was answered 404 or 405 (the mux's "no
// such route").
func Wrap(t testing.TB, h http.Handler) *Checker {
	t.Helper()
	s, err := load()
	if err != nil {
		t.Fatal(err)
	}
	return &Checker{t: t, next: h, s: s, seen: map[string]bool{}}
}

// Seen returns the operations ("METHOD /path/{param}") the checker has
// served, sorted.
func (c *Checker) Seen() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.seen))
	for op := range c.seen {
		out = append(out, op)
	}
	sort.Strings(out)
	return out
}

// ServeHTTP implements http.Handler.
func (c *Checker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "openapitest: reading the request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	// The request as it arrived, for the validator: the handler may
	// change r (path values, a consumed body).
	probe := r.Clone(r.Context())
	tw := &teeWriter{ResponseWriter: w, status: 0}
	c.next.ServeHTTP(tw, r)
	if tw.status == 0 {
		tw.status = http.StatusOK
	}
	c.check(probe, body, tw)
}

func (c *Checker) check(r *http.Request, body []byte, tw *teeWriter) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	what := fmt.Sprintf("%s %s → %d", r.Method, r.URL.RequestURI(), tw.status)
	item, _, template := paths.FindPath(r, c.s.model, c.s.opts)
	if item == nil || !slices.Contains(opMethods(item), r.Method) {
		if tw.status != http.StatusNotFound && tw.status != http.StatusMethodNotAllowed {
			c.t.Errorf("openapi: %s: the route is not in docs/openapi.yaml", what)
		}
		return
	}
	c.mu.Lock()
	c.seen[r.Method+" "+template] = true
	c.mu.Unlock()

	resp := &http.Response{
		StatusCode: tw.status,
		Header:     tw.Header().Clone(),
		Body:       io.NopCloser(bytes.NewReader(tw.buf.Bytes())),
		Request:    r,
	}
	if tw.status >= 200 && tw.status < 300 {
		r.Body = io.NopCloser(bytes.NewReader(body))
		if len(body) > 0 && r.Header.Get("Content-Type") == "" {
			// baton reads a body without a type as JSON, so it is
			// checked as JSON (not as */*, which allows anything).
			r.Header.Set("Content-Type", "application/json")
		}
		if ok, errs := c.s.v.ValidateHttpRequestSync(r); !ok {
			c.t.Errorf("openapi: %s: the request was accepted but docs/openapi.yaml does not allow it: %s\nbody: %.500s", what, describe(errs), body)
		}
		if errs := c.s.acceptedAlert(r, body); len(errs) > 0 {
			c.t.Errorf("openapi: %s: the alert was accepted but docs/openapi.yaml's %s does not allow it: %s\nbody: %.500s", what, genericSchema, describe(errs), body)
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if ok, errs := c.s.v.ValidateHttpResponse(r, resp); !ok {
		c.t.Errorf("openapi: %s: the answer does not match docs/openapi.yaml: %s\nanswer: %.500s", what, describe(errs), tw.buf.Bytes())
	}
}

func opMethods(item *v3.PathItem) []string {
	var out []string
	for m := range item.GetOperations().KeysFromOldest() {
		out = append(out, strings.ToUpper(m))
	}
	return out
}

func describe(errs []*vErrors.ValidationError) string {
	var b strings.Builder
	for i, e := range errs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Message)
		if e.Reason != "" && e.Reason != e.Message {
			b.WriteString(" (" + e.Reason + ")")
		}
		for _, se := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, " [%s: %s]", se.FieldPath, se.Reason)
		}
	}
	return b.String()
}

// teeWriter passes the answer through and keeps a copy of it.
type teeWriter struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
}

func (w *teeWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *teeWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.buf.Write(p)
	return w.ResponseWriter.Write(p)
}

// Flush passes a flush through, for streamed answers.
func (w *teeWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *teeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// genericSchema is the schema of the generic source's alerts.
const genericSchema = "GenericAlert"

// acceptedAlert checks an alert the generic source accepted against
// GenericAlert itself, whatever its Content-Type: the route's body is an
// anyOf that also admits other sources' payloads (any object), so the
// request check alone would let GenericAlert drift from what baton takes.
// The caller holds s.mu.
func (s *spec) acceptedAlert(r *http.Request, body []byte) []*vErrors.ValidationError {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/alerts/generic" {
		return nil
	}
	proxy, ok := s.model.Components.Schemas.Get(genericSchema)
	if !ok {
		return []*vErrors.ValidationError{{Message: "docs/openapi.yaml has no components.schemas." + genericSchema}}
	}
	_, errs := schema_validation.NewSchemaValidator().ValidateSchemaBytesWithVersion(proxy.Schema(), body, 3.1)
	return errs
}
