package httpauth_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/batonhq/baton/internal/httpauth"
)

const secret = "s3cret-token-0123456789"

func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

func TestCheck(t *testing.T) {
	bearer := httpauth.Guard{Token: secret, Setting: "api.token", Subject: "the API"}
	feed := bearer
	feed.Query = true
	sns := httpauth.Guard{Token: secret, Setting: "intake.tokens.cloudwatch", Subject: "the cloudwatch source", Basic: true, Query: true}
	closed := httpauth.Guard{Setting: "api.token", Subject: "the API"}

	tests := []struct {
		name          string
		guard         httpauth.Guard
		authorization string // "" sends none
		query         string
		reason        httpauth.Reason // 0: accepted
		message       string
	}{
		{"Bearer", bearer, "Bearer " + secret, "", 0, ""},
		{"bearer", bearer, "bearer " + secret, "", 0, ""},
		{"BEARER", bearer, "BEARER " + secret, "", 0, ""},
		{"two spaces", bearer, "Bearer  " + secret, "", 0, ""},
		{"a tab", bearer, "Bearer\t" + secret, "", 0, ""},
		{"whitespace around the value", bearer, "  Bearer " + secret + "\t ", "", 0, ""},
		{"Basic with the token as password", sns, basic("baton", secret), "", 0, ""},
		{"basic in lower case, two spaces", sns, "basic  " + base64.StdEncoding.EncodeToString([]byte("baton:"+secret)), "", 0, ""},
		{"Basic with an empty user", sns, basic("", secret), "", 0, ""},
		{"query", sns, "", secret, 0, ""},
		{"query beside an unknown scheme", feed, "Negotiate abc", secret, 0, ""},

		{"closed", closed, "Bearer " + secret, "", httpauth.Closed, "the API is closed: set api.token to open it"},
		{"nothing sent", bearer, "", "", httpauth.Missing,
			"missing credentials: send the header Authorization: Bearer <api.token>"},
		{"nothing sent to a feed", feed, "", "", httpauth.Missing,
			"missing credentials: send the header Authorization: Bearer <api.token> or ?token=<api.token>"},
		{"nothing sent to SNS", sns, "", "", httpauth.Missing,
			"missing credentials: send the header Authorization: Bearer <intake.tokens.cloudwatch>, the token as the basic-auth password, or ?token=<intake.tokens.cloudwatch>"},
		{"an empty query is nothing", feed, "", "", httpauth.Missing, "missing credentials: send the header Authorization: Bearer <api.token> or ?token=<api.token>"},
		{"the query where it is not read", bearer, "", secret, httpauth.Missing,
			"missing credentials: send the header Authorization: Bearer <api.token>"},
		{"only whitespace", bearer, "  \t ", "", httpauth.Missing,
			"missing credentials: send the header Authorization: Bearer <api.token>"},
		{"wrong token", bearer, "Bearer nope", "", httpauth.Wrong, "wrong credentials: the token is not api.token"},
		{"token in another case", bearer, "Bearer " + "S3CRET-TOKEN-0123456789", "", httpauth.Wrong, "wrong credentials: the token is not api.token"},
		{"token with a space inside", bearer, "Bearer s3cret token-0123456789", "", httpauth.Wrong, "wrong credentials: the token is not api.token"},
		{"wrong basic password", sns, basic("baton", "nope"), "", httpauth.Wrong, "wrong credentials: the token is not intake.tokens.cloudwatch"},
		{"the token as the user name", sns, basic(secret, ""), "", httpauth.Wrong, "wrong credentials: the token is not intake.tokens.cloudwatch"},
		{"the header wins over the query", sns, "Bearer nope", secret, httpauth.Wrong, "wrong credentials: the token is not intake.tokens.cloudwatch"},
		{"wrong query", sns, "", "nope", httpauth.Wrong, "wrong credentials: the token is not intake.tokens.cloudwatch"},
		{"scheme alone", bearer, "Bearer", "", httpauth.Wrong, "wrong credentials: the Authorization header has the scheme Bearer but no token"},
		{"scheme and spaces", bearer, "bearer    ", "", httpauth.Wrong, "wrong credentials: the Authorization header has the scheme Bearer but no token"},
		{"one word", bearer, secret, "", httpauth.Wrong,
			"wrong credentials: the Authorization header is one word; send the scheme Bearer, a space and the credentials"},
		{"one word to SNS", sns, secret, "", httpauth.Wrong,
			"wrong credentials: the Authorization header is one word; send the scheme Basic or Bearer, a space and the credentials"},
		{"unknown scheme", bearer, "Token " + secret, "", httpauth.Wrong,
			`wrong credentials: the Authorization scheme "Token" is not accepted here; use Bearer`},
		{"Basic where it is not accepted", bearer, basic("baton", secret), "", httpauth.Wrong,
			`wrong credentials: the Authorization scheme "Basic" is not accepted here; use Bearer`},
		{"a long scheme is not repeated", bearer, secret + secret + " x", "", httpauth.Wrong,
			"wrong credentials: the Authorization scheme is not accepted here; use Bearer"},
		{"Basic not base64", sns, "Basic %%%", "", httpauth.Wrong, "wrong credentials: the Basic credentials are not base64 of user:password"},
		{"Basic without a colon", sns, "Basic " + base64.StdEncoding.EncodeToString([]byte(secret)), "", httpauth.Wrong,
			"wrong credentials: the Basic credentials are not base64 of user:password"},
		{"Basic without credentials", sns, "Basic", "", httpauth.Wrong, "wrong credentials: the Basic credentials are not base64 of user:password"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			target := "/v1/x"
			if tc.query != "" {
				target += "?token=" + tc.query
			}
			r := httptest.NewRequest(http.MethodGet, target, nil)
			if tc.authorization != "" {
				r.Header.Set("Authorization", tc.authorization)
			}
			refusal := tc.guard.Check(r)
			switch {
			case tc.reason == 0 && refusal != nil:
				t.Fatalf("refused: %v", refusal)
			case tc.reason == 0:
			case refusal == nil:
				t.Fatalf("accepted, want reason %d: %q", tc.reason, tc.message)
			case refusal.Reason != tc.reason || refusal.Error() != tc.message:
				t.Fatalf("refusal %d %q, want %d %q", refusal.Reason, refusal.Error(), tc.reason, tc.message)
			}
		})
	}
}

func TestChallenge(t *testing.T) {
	tests := []struct {
		name  string
		guard httpauth.Guard
		want  []string
	}{
		{"bearer only", httpauth.Guard{Token: secret}, []string{`Bearer realm="baton"`}},
		{"a feed with a query token", httpauth.Guard{Token: secret, Query: true}, []string{`Bearer realm="baton"`}},
		{"basic first, then bearer", httpauth.Guard{Token: secret, Basic: true, Query: true}, []string{`Basic realm="baton"`, `Bearer realm="baton"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			tc.guard.Challenge(h)
			if got := h.Values("WWW-Authenticate"); !slices.Equal(got, tc.want) {
				t.Fatalf("WWW-Authenticate %q, want %q", got, tc.want)
			}
		})
	}
}
