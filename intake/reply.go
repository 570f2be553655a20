package intake

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"github.com/batonhq/baton/internal/httpjson"
)

// The answer to a single alert is written by hand: it is the one body every
// alert request gets, and encoding/json's encoder (reflection, an encoder
// and a buffer per call) was a visible share of a duplicate's cost. The
// bytes are exactly what json.NewEncoder(w).Encode(reply) writes
// (TestReplyJSONMatchesEncodingJSON), HTML escaping and the trailing
// newline included.

// replyBufs holds the buffers replies are encoded into; the bytes are
// copied into the connection's buffer by Write, so a buffer is reused at once.
var replyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// writeReply writes reply as the JSON body with status.
func writeReply(w http.ResponseWriter, status int, reply Reply) {
	bp := replyBufs.Get().(*[]byte)
	b := reply.appendJSON((*bp)[:0])
	httpjson.WriteBody(w, status, b)
	if cap(b) <= 4<<10 {
		*bp = b[:0]
		replyBufs.Put(bp)
	}
}

// appendJSON appends r as encoding/json encodes it, newline included.
func (r Reply) appendJSON(b []byte) []byte {
	b = append(b, `{"incident":`...)
	b = strconv.AppendInt(b, r.Incident, 10)
	b = append(b, `,"created":`...)
	b = strconv.AppendBool(b, r.Created)
	b = append(b, `,"alert_count":`...)
	b = strconv.AppendInt(b, r.AlertCount, 10)
	if r.Status != "" {
		b = append(b, `,"status":`...)
		b = appendJSONString(b, r.Status)
	}
	b = append(b, `,"outcome":`...)
	b = appendJSONString(b, r.Outcome)
	if r.Service != "" {
		b = append(b, `,"service":`...)
		b = appendJSONString(b, r.Service)
	}
	if r.Message != "" {
		b = append(b, `,"message":`...)
		b = appendJSONString(b, r.Message)
	}
	if r.RecoveredAt != "" {
		b = append(b, `,"recovered_at":`...)
		b = appendJSONString(b, r.RecoveredAt)
	}
	return append(b, "}\n"...)
}

// appendJSONString appends s as a JSON string the way encoding/json writes
// it: printable ASCII that needs no escape as it is, anything else through
// encoding/json itself (control characters, quotes, HTML characters,
// invalid UTF-8, U+2028/U+2029).
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
