// Package httpauth checks the token a request carries, one way for every
// route that needs one: the alert webhooks (intake) and the API (httpapi).
//
// It reads the Authorization header as RFC 9110 §11 says: the scheme in any
// case ("Bearer", "bearer", "BEARER"), one or more spaces before the
// credentials, whitespace around the field value ignored. The token itself is
// compared exactly, in constant time. A refusal is a 401 whose
// WWW-Authenticate header offers every scheme the route accepts (§15.5.2).
package httpauth

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
)

// Realm is the protection space named in every challenge.
const Realm = "baton"

// maxSchemeShown is the longest unknown scheme a refusal repeats; a longer
// word is more likely a misplaced secret than a scheme.
const maxSchemeShown = 20

// Guard is one route's credentials rule: which token it wants and the ways
// it may arrive. "Authorization: Bearer <token>" is always accepted.
type Guard struct {
	// Token is the secret a request must present. Empty closes the route:
	// every request is refused.
	Token string
	// Setting is the configuration key that holds Token, such as "api.token"
	// or "intake.tokens.sumologic"; refusals name it.
	Setting string
	// Subject names what the token opens, such as "the API" or "the sumologic
	// source", in the refusal of a closed route.
	Subject string
	// Basic also accepts "Authorization: Basic" with Token as the password
	// and any user name, as Amazon SNS sends for a subscription to
	// https://user:<token>@host/…, and offers the Basic challenge on a 401.
	Basic bool
	// Query also accepts ?token=<token>, for senders that cannot set headers
	// (calendar apps, SNS). It is read only when the Authorization header
	// carries no credentials of a scheme the route accepts.
	Query bool
}

// Reason says why a request was refused.
type Reason int

// The reasons for a refusal.
const (
	// Closed: the route has no token configured.
	Closed Reason = iota + 1
	// Missing: the request sent no credentials at all.
	Missing
	// Wrong: the request sent credentials, and they are not the token.
	Wrong
)

// Refusal is a request refused for its credentials: answer 401 with Message
// and the Guard's challenges.
type Refusal struct {
	Reason  Reason
	Message string
}

// Error returns the sentence to show the sender.
func (r *Refusal) Error() string { return r.Message }

// Check returns nil when r carries g.Token, else a *Refusal saying why.
func (g Guard) Check(r *http.Request) *Refusal {
	if g.Token == "" {
		return &Refusal{Closed, fmt.Sprintf("%s is closed: set %s to open it", g.Subject, g.Setting)}
	}
	token, problem, sent := g.credentials(r)
	if !sent {
		how := "send the header Authorization: Bearer <" + g.Setting + ">"
		switch {
		case g.Basic && g.Query:
			how += ", the token as the basic-auth password, or ?token=<" + g.Setting + ">"
		case g.Query:
			how += " or ?token=<" + g.Setting + ">"
		}
		return &Refusal{Missing, "missing credentials: " + how}
	}
	if problem != "" {
		return &Refusal{Wrong, "wrong credentials: " + problem}
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(g.Token)) != 1 {
		return &Refusal{Wrong, "wrong credentials: the token is not " + g.Setting}
	}
	return nil
}

// Challenge adds to h the WWW-Authenticate challenges of the route, one
// field line each: Basic first when the route accepts it (Amazon SNS looks
// for it), then Bearer. Every 401 must carry them.
func (g Guard) Challenge(h http.Header) {
	if g.Basic {
		h.Add("WWW-Authenticate", `Basic realm="`+Realm+`"`)
	}
	h.Add("WWW-Authenticate", `Bearer realm="`+Realm+`"`)
}

// credentials returns the token r presents the way g accepts it. sent is
// false when r carries no credentials at all; problem, when not empty, says
// why what it carries cannot be a token.
func (g Guard) credentials(r *http.Request) (token, problem string, sent bool) {
	header := strings.Trim(r.Header.Get("Authorization"), " \t")
	if header != "" {
		token, problem = g.parse(header)
		if problem == "" {
			return token, "", true
		}
	}
	if g.Query {
		if q := r.URL.Query().Get("token"); q != "" {
			return q, "", true
		}
	}
	return "", problem, header != ""
}

// parse reads one Authorization field value, already trimmed: a scheme, one
// or more spaces, the credentials.
func (g Guard) parse(v string) (token, problem string) {
	scheme, rest := v, ""
	if i := strings.IndexAny(v, " \t"); i >= 0 {
		scheme, rest = v[:i], strings.TrimLeft(v[i:], " \t")
	}
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		if rest == "" {
			return "", "the Authorization header has the scheme Bearer but no token"
		}
		return rest, ""
	case g.Basic && strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(rest)
		_, password, ok := strings.Cut(string(raw), ":")
		if rest == "" || err != nil || !ok {
			return "", "the Basic credentials are not base64 of user:password"
		}
		return password, ""
	}
	accepted := "Bearer"
	if g.Basic {
		accepted = "Basic or Bearer"
	}
	if rest == "" {
		// One word is not a scheme and credentials; it may be the token
		// itself, so it is not repeated back (or into a log).
		return "", "the Authorization header is one word; send the scheme " + accepted + ", a space and the credentials"
	}
	if len(scheme) > maxSchemeShown {
		return "", "the Authorization scheme is not accepted here; use " + accepted
	}
	return "", fmt.Sprintf("the Authorization scheme %q is not accepted here; use %s", scheme, accepted)
}
