package adapter

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/trace"
	"github.com/fsepuglia/fsepuglia/adapter/wssec"
	"github.com/fsepuglia/fsepuglia/adapter/wssec/saml"
)

// call describes one SOAP call as it goes through the hook. It travels in the request's
// context, because gowsdl's soap.Client gives the HTTP client nothing else.
type call struct {
	op        string // SOAP operation, e.g. addDocument
	service   string // IDocumentService …
	url       string
	action    string
	messageID string
	attrs     *saml.Attributes

	status     int    // HTTP status of the answer
	retryAfter string // its Retry-After header, if any
	head       []byte // first bytes of a 2xx answer: a fault sent with HTTP 200 fits in them
}

// headLimit bounds what is kept of a 2xx answer for fault parsing: faults are small, and a
// large document in a normal answer must not be copied.
const headLimit = 16 << 10

// headTee keeps the first headLimit bytes read through it in c.head.
type headTee struct {
	io.ReadCloser
	c *call
}

func (h *headTee) Read(p []byte) (int, error) {
	n, err := h.ReadCloser.Read(p)
	if room := headLimit - len(h.c.head); room > 0 && n > 0 {
		h.c.head = append(h.c.head, p[:min(n, room)]...)
	}
	return n, err
}

type callKey struct{}

func withCall(ctx context.Context, c *call) context.Context {
	return context.WithValue(ctx, callKey{}, c)
}

// hook is the soap.HTTPClient every generated client uses. It is the one place that sees
// gowsdl's serialised envelope: it adds WS-Addressing and WS-Security (signing the Timestamp
// and, if asked, the Body), keeps connections alive (gowsdl sets Connection: close), writes
// traces and logs the call without personal data.
type hook struct{ c *Client }

// Do implements soap.HTTPClient.
func (h hook) Do(req *http.Request) (*http.Response, error) {
	cl := h.c
	cc, _ := req.Context().Value(callKey{}).(*call)
	if cc == nil {
		return nil, fmt.Errorf("adapter: internal error: SOAP request without call context")
	}
	sink := sinkFrom(req.Context())
	if sink != nil && sink.n > 0 {
		return nil, errPartial
	}
	// One copy of the envelope: gowsdl hands us a reader over its buffer and its length.
	envelope, err := readBody(req)
	if err != nil {
		return nil, fmt.Errorf("adapter: read envelope: %w", err)
	}

	var body io.Reader = bytes.NewReader(envelope)
	size := int64(len(envelope))
	sent := envelope
	stream := streamFrom(req.Context())
	if !cl.cfg.Security.Disabled {
		p := wssec.Params{
			Signer:       wssec.Signer{Key: cl.signer, Cert: cl.cert},
			Profile:      cl.profile,
			Algorithm:    cl.alg,
			Issuer:       cl.issuer,
			NameID:       cl.nameID,
			To:           cc.url,
			Action:       cc.action,
			MessageID:    cc.messageID,
			TimestampTTL: time.Duration(cl.cfg.Security.TimestampTTL),
			SignBody:     cl.cfg.Security.SignBody,
			Clock:        cl.now,
			Attributes:   cc.attrs,
			Assertions:   &cl.assertions,
			Presign:      &cl.presign,
		}
		if cl.trace.Enabled() || stream != nil {
			// (A streamed document's envelope holds only a placeholder: it is small.)
			secured, err := wssec.Secure(envelope, p)
			if err != nil {
				return nil, fmt.Errorf("adapter: secure %s: %w", cc.op, err)
			}
			body, size, sent = bytes.NewReader(secured), int64(len(secured)), secured
		} else {
			r, n, err := wssec.SecureReader(envelope, p)
			if err != nil {
				return nil, fmt.Errorf("adapter: secure %s: %w", cc.op, err)
			}
			body, size = r, n
		}
	}
	if cl.trace.Enabled() {
		// A streamed document is traced with its placeholder (traces redact its text anyway).
		if _, err := cl.trace.Write(cl.now(), cc.op, cc.messageID, "request", sent); err != nil {
			cl.log.Warn("trace not written", map[string]any{"operation": cc.op, "error": err.Error()})
		}
	}
	if stream != nil {
		rc, n, err := stream.body(sent)
		if err != nil {
			return nil, err
		}
		body, size = rc, n
	}

	out, err := http.NewRequestWithContext(req.Context(), http.MethodPost, cc.url, body)
	if err != nil {
		return nil, fmt.Errorf("adapter: build request: %w", err)
	}
	out.ContentLength = size
	out.Header = req.Header.Clone()
	out.Header.Set("User-Agent", "fsepuglia/"+Version)
	// A fresh request: gowsdl's Connection: close is not carried over, so the connection
	// stays alive for the next call.

	start := time.Now()
	res, err := cl.http.Do(out)
	if err != nil {
		return nil, err // logged once, with its class, when the call gives up (Client.do)
	}
	cc.status, cc.retryAfter = res.StatusCode, res.Header.Get("Retry-After")
	fields := map[string]any{"operation": cc.op, "service": cc.service, "asl": cl.cfg.ASL,
		"environment": cl.cfg.Environment, "message_id": cc.messageID,
		"duration": time.Since(start).Round(time.Millisecond).String(), "http_status": res.StatusCode}
	switch {
	case cl.trace.Enabled():
		// Read the answer once for the trace, and hand gowsdl the same bytes.
		b, rerr := io.ReadAll(res.Body)
		res.Body.Close()
		if rerr != nil {
			return nil, fmt.Errorf("adapter: read %s response: %w", cc.op, rerr)
		}
		if _, err := cl.trace.Write(cl.now(), cc.op, cc.messageID, "response", b); err != nil {
			cl.log.Warn("trace not written", map[string]any{"operation": cc.op, "error": err.Error()})
		}
		cc.head = b[:min(len(b), headLimit)]
		res.Body = io.NopCloser(bytes.NewReader(b))
		if sink != nil && res.StatusCode < 300 {
			res.Body = &docFilter{src: res.Body, sink: sink}
		}
	case res.StatusCode < 300:
		// gowsdl drops the detail of a fault sent with HTTP 200: keep the answer's head.
		// (A non-2xx body reaches fault.FromError inside gowsdl's *soap.HTTPError.)
		res.Body = &headTee{ReadCloser: res.Body, c: cc}
		if sink != nil {
			// RetrieveTo: the document's base64 goes to its writer, the rest to gowsdl.
			res.Body = &docFilter{src: res.Body, sink: sink}
		}
	}
	cl.log.Info("call", fields)
	if t := answerFrom(req.Context()); t != nil && res.StatusCode < 300 {
		// soapdec decodes the answer; gowsdl gets an empty Envelope (wire.go).
		if err := t.read(res, cc, sink != nil); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// traceDir builds the trace writer from the configuration.
func traceDir(cfg Config) *trace.Dir { return &trace.Dir{Path: cfg.TraceDir, Raw: cfg.TraceRaw} }

// readBody reads a request body into one slice of the exact size when the length is known
// (bytes.Buffer.ReadFrom would reallocate at the end, doubling a 20 MB envelope).
func readBody(req *http.Request) ([]byte, error) {
	defer req.Body.Close()
	if n := req.ContentLength; n > 0 {
		b := make([]byte, n)
		if _, err := io.ReadFull(req.Body, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	return io.ReadAll(req.Body)
}
