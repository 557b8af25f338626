package gateway

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/codicefiscale"
)

var traceSeq atomic.Uint64

// RedactText masks everything codicefiscale.Find takes for a fiscal code (any case, any
// position; over-redacting is the safe side).
func RedactText(s string) string {
	return codicefiscale.ReplaceAll(s, func(string) string { return "CF[redacted]" })
}

// traceRecord is one call as kept in the trace directory.
type traceRecord struct {
	Time           time.Time         `json:"time"`
	Op             Operation         `json:"op"`
	Method         string            `json:"method"`
	URL            string            `json:"url"`
	RequestHeaders map[string]string `json:"request_headers"`
	// JWTs holds the decoded header and claims of each token (the signature is dropped).
	JWTs        map[string]json.RawMessage `json:"jwts,omitempty"`
	RequestBody json.RawMessage            `json:"request_body,omitempty"`
	File        *traceFile                 `json:"file,omitempty"`
	Status      int                        `json:"status,omitempty"`
	Answer      json.RawMessage            `json:"answer,omitempty"`
	AnswerText  string                     `json:"answer_text,omitempty"`
	Error       string                     `json:"error,omitempty"`
	Redacted    bool                       `json:"redacted"`
}

type traceFile struct {
	Name   string `json:"name"`
	Size   int    `json:"size"`
	SHA256 string `json:"sha256"`
	// Base64 is the file itself, only in raw traces.
	Base64 string `json:"base64,omitempty"`
}

// trace writes one call into TraceDir (nothing when unset). Redacted traces replace fiscal
// codes, the JWT signatures and the document's bytes; raw traces keep everything.
func (c *Client) trace(at time.Time, op Operation, req *http.Request, jsonPart []byte, d *Document, status int, answer []byte, callErr error) {
	if c.o.TraceDir == "" {
		return
	}
	raw := c.o.TraceRaw
	red := func(s string) string {
		if raw {
			return s
		}
		return RedactText(s)
	}
	rec := traceRecord{Time: at.UTC(), Op: op, Method: req.Method, URL: red(req.URL.String()), RequestHeaders: map[string]string{}, Status: status, Redacted: !raw}
	for k := range req.Header {
		v := req.Header.Get(k)
		if k == "Authorization" || k == "Fse-Jwt-Signature" {
			tok := strings.TrimPrefix(v, "Bearer ")
			if rec.JWTs == nil {
				rec.JWTs = map[string]json.RawMessage{}
			}
			rec.JWTs[k] = decodeJWT(tok, raw)
			if !raw {
				v = "[redacted JWT; decoded claims under jwts]"
			}
		}
		rec.RequestHeaders[k] = v
	}
	if jsonPart != nil {
		rec.RequestBody = json.RawMessage(red(string(jsonPart)))
	}
	if d != nil && d.Data != nil {
		rec.File = &traceFile{Name: red(d.Name), Size: len(d.Data), SHA256: AttachmentHash(d.Data)}
		if raw {
			rec.File.Base64 = base64.StdEncoding.EncodeToString(d.Data)
		}
	}
	if len(answer) > 0 {
		if json.Valid(answer) {
			rec.Answer = json.RawMessage(red(string(answer)))
		} else {
			rec.AnswerText = red(string(answer))
		}
	}
	if callErr != nil {
		rec.Error = red(callErr.Error())
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return
	}
	if err := os.MkdirAll(c.o.TraceDir, 0o700); err != nil {
		return
	}
	name := fmt.Sprintf("%s-%04d-gateway-%s.json", at.UTC().Format("20060102T150405.000"), traceSeq.Add(1)%10000, op)
	_ = os.WriteFile(filepath.Join(c.o.TraceDir, name), append(b, '\n'), 0o600)
}

// decodeJWT returns {"header":…, "claims":…} of a compact JWT; the signature is never kept
// in a redacted trace (a raw one keeps the whole token).
func decodeJWT(tok string, raw bool) json.RawMessage {
	parts := strings.Split(tok, ".")
	out := map[string]any{}
	if len(parts) == 3 {
		for i, name := range []string{"header", "claims"} {
			b, err := base64.RawURLEncoding.DecodeString(parts[i])
			if err != nil || !json.Valid(b) {
				continue
			}
			s := string(b)
			if !raw {
				// The certificate goes first: its base64 can hold a CF-shaped run, and a
				// masked one inside x5c would end the x5c pattern early.
				if i == 0 {
					s = redactX5C(s)
				}
				s = RedactText(s)
			}
			if !json.Valid([]byte(s)) {
				s = `"[unreadable after redaction]"`
			}
			out[name] = json.RawMessage(s)
		}
	}
	if raw {
		out["token"] = tok
	}
	b, _ := json.Marshal(out)
	return b
}

var x5cValue = regexp.MustCompile(`"x5c":\[[^\]]*\]`)

func redactX5C(s string) string {
	return x5cValue.ReplaceAllString(s, `"x5c":["[certificate redacted]"]`)
}
