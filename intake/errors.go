package intake

import (
	"errors"
	"fmt"

	"github.com/batonhq/baton/privacy"
)

// InputError reports a payload the sender must change before baton can accept
// it. Field names the offending key as the sender wrote it (a dotted path for
// nested keys, links[2].url for list items); it is empty when the problem is
// the body as a whole. Msg completes the sentence.
type InputError struct {
	Field string
	Msg   string
	// format and args are what Msg was made from (by fieldErr, bodyErr),
	// so a log line can quote the values redacted (redacted).
	format string
	args   []any
}

// Error returns a sentence the sender can act on, such as
// `field "severity": must be one of critical, warning, info (got "urgent")`
// or, for the body as a whole, `body is not valid JSON: ... at byte 42`.
func (e *InputError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return fmt.Sprintf("field %q: %s", e.Field, e.Msg)
}

// fieldErr builds an *InputError for one field.
func fieldErr(field, format string, args ...any) *InputError {
	return &InputError{Field: field, Msg: fmt.Sprintf(format, args...), format: format, args: args}
}

// bodyErr builds an *InputError about the body as a whole.
func bodyErr(format string, args ...any) *InputError {
	return &InputError{Msg: fmt.Sprintf(format, args...), format: format, args: args}
}

// redacted is e's sentence for a log: the field name and every value it
// quotes are redacted before they are quoted, since %q turns a control
// character into letters ("crit\n219-09-9999" → `crit\n219-09-9999`) and a
// value quoted that way loses the word boundary a rule needs.
func (e *InputError) redacted(red *privacy.Redactor) string {
	msg := e.Msg
	if e.format != "" {
		msg = fmt.Sprintf(e.format, redactArgs(red, e.args)...)
	} else {
		msg = red.String(msg)
	}
	if e.Field == "" {
		return msg
	}
	return fmt.Sprintf("field %q: %s", red.String(e.Field), msg)
}

// redactArgs is args with every string redacted, every *InputError as its
// redacted sentence and every other error as its redacted text.
func redactArgs(red *privacy.Redactor, args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		var ie *InputError
		switch x := a.(type) {
		case string:
			out[i] = red.String(x)
		case error:
			if errors.As(x, &ie) {
				out[i] = ie.redacted(red)
			} else {
				out[i] = red.String(x.Error())
			}
		case fmt.Stringer:
			out[i] = red.String(x.String())
		default:
			out[i] = a
		}
	}
	return out
}

// Outcomes of SNSVerifier.Verify. Each is wrapped with the detail that caused
// it (the topic, the URL, the version), so test them with errors.Is. All four
// mean the message must be refused (HTTP 403); retrying will not help.
var (
	// ErrBadSignature: the signature is not valid base64, does not match the
	// message under the certificate it names, or that certificate cannot be
	// used (no RSA key, expired, not yet valid).
	ErrBadSignature = errors.New("SNS message signature is not valid")

	// ErrCertHost: SigningCertURL is not an https URL ending in .pem on an
	// Amazon SNS host (sns.<region>.amazonaws.com[.cn]). baton never fetches
	// such a URL.
	ErrCertHost = errors.New("SNS SigningCertURL is not an https .pem URL on an Amazon SNS host")

	// ErrUnknownTopic: TopicArn is not in SNSVerifier.AllowedTopics.
	ErrUnknownTopic = errors.New("SNS topic is not allowed; add its ARN to intake.cloudwatch.topic_arns")

	// ErrUnsupportedSignatureVersion: SignatureVersion is neither "1"
	// (SHA1withRSA) nor "2" (SHA256withRSA).
	ErrUnsupportedSignatureVersion = errors.New(`SNS SignatureVersion is not supported; baton accepts "1" (SHA1withRSA) and "2" (SHA256withRSA)`)
)
