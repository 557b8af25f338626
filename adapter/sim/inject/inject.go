// Package inject is fault-injection middleware for the simulator: per SOAP operation it adds
// latency and, at a given rate chosen deterministically from a seed, fails requests with a
// SOAP fault, HTTP 503, a connection reset, a truncated body or malformed XML.
package inject

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Config configures an Injector.
type Config struct {
	// Rules, at most one per operation (plus one for AnyOperation).
	Rules []Rule
	// Seed makes the failure sequence reproducible: for a given seed, the n-th request of an
	// operation always gets the same decision, whatever the other operations do.
	Seed uint64
	// Operation names the SOAP operation of a request; nil means OperationFromRequest.
	Operation func(*http.Request) string
	// Actor names the portType for the fault's faultactor; nil means ActorFromPath.
	Actor func(*http.Request) string
	// Fault writes the answer of KindFault; nil means a SOAP fault (WriteFault). The REST
	// middleware simulator answers problem+json instead.
	Fault func(w http.ResponseWriter, r *http.Request, code string)
}

// Injector is the middleware. It is safe for concurrent use.
type Injector struct {
	next  http.Handler
	rules map[string]Rule
	op    func(*http.Request) string
	actor func(*http.Request) string
	fault func(http.ResponseWriter, *http.Request, string)
	seed  uint64

	mu     sync.Mutex
	rngs   map[string]*rand.Rand
	counts map[string]map[Kind]int
}

// New wraps next. Rules are validated: rate in [0,1], known kinds, no operation twice.
func New(cfg Config, next http.Handler) (*Injector, error) {
	in := &Injector{next: next, rules: map[string]Rule{}, op: cfg.Operation, actor: cfg.Actor, fault: cfg.Fault, seed: cfg.Seed,
		rngs: map[string]*rand.Rand{}, counts: map[string]map[Kind]int{}}
	if in.op == nil {
		in.op = OperationFromRequest
	}
	if in.actor == nil {
		in.actor = ActorFromPath
	}
	for _, r := range cfg.Rules {
		if _, dup := in.rules[r.Operation]; dup {
			return nil, fmt.Errorf("inject: operation %q configured twice", r.Operation)
		}
		if r.Rate < 0 || r.Rate > 1 || r.Latency < 0 {
			return nil, fmt.Errorf("inject: operation %q: rate must be in [0,1] and latency >= 0", r.Operation)
		}
		for _, k := range r.Kinds {
			if _, ok := parseKind(string(k)); !ok {
				return nil, fmt.Errorf("inject: operation %q: unknown kind %q", r.Operation, k)
			}
		}
		if len(r.Kinds) == 0 {
			r.Kinds = []Kind{KindFault}
		}
		if r.FaultCode == "" {
			r.FaultCode = "FSE-00503"
		}
		in.rules[r.Operation] = r
	}
	return in, nil
}

// Counts returns how many requests each operation has had failed, by kind ("" counts the
// requests passed through).
func (in *Injector) Counts() map[string]map[Kind]int {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make(map[string]map[Kind]int, len(in.counts))
	for op, m := range in.counts {
		c := make(map[Kind]int, len(m))
		for k, n := range m {
			c[k] = n
		}
		out[op] = c
	}
	return out
}

// decide returns the failure for the next request of op ("" = pass through).
func (in *Injector) decide(op string, r Rule) Kind {
	in.mu.Lock()
	defer in.mu.Unlock()
	rng := in.rngs[op]
	if rng == nil {
		h := fnv.New64a()
		_, _ = io.WriteString(h, op)
		rng = rand.New(rand.NewPCG(in.seed, h.Sum64()))
		in.rngs[op] = rng
	}
	var k Kind
	// Always draw both numbers so the sequence does not depend on the rate.
	p, pick := rng.Float64(), rng.IntN(len(r.Kinds))
	if p < r.Rate {
		k = r.Kinds[pick]
	}
	if in.counts[op] == nil {
		in.counts[op] = map[Kind]int{}
	}
	in.counts[op][k]++
	return k
}

// ServeHTTP implements http.Handler. The latency stops early when the request's context is
// cancelled (net/http notices a client gone only once the request body has been read).
func (in *Injector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := in.op(r)
	rule, ok := in.rules[op]
	if !ok {
		rule, ok = in.rules[AnyOperation]
	}
	if !ok {
		in.next.ServeHTTP(w, r)
		return
	}
	if rule.Latency > 0 {
		t := time.NewTimer(rule.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	switch in.decide(op, rule) {
	case KindFault:
		if in.fault != nil {
			in.fault(w, r, rule.FaultCode)
			break
		}
		WriteFault(w, rule.FaultCode, in.actor(r))
	case Kind503:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "Service Unavailable (injected)\n")
	case KindReset:
		reset(w)
	case KindTruncate:
		truncate(w, FaultEnvelope("FSE-00503", in.actor(r)))
	case KindMalformed:
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, malformed)
	default:
		in.next.ServeHTTP(w, r)
	}
}

// malformed is a SOAP-looking answer that is not well-formed XML (mismatched end tag).
const malformed = `<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><esito>OK</soap:Body></soap:Envelope>`

func hijack(w http.ResponseWriter) (net.Conn, *bufio.ReadWriter, bool) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, nil, false
	}
	c, rw, err := hj.Hijack()
	if err != nil {
		return nil, nil, false
	}
	return c, rw, true
}

// tcp finds the TCP connection under c (through TLS).
func tcp(c net.Conn) *net.TCPConn {
	for {
		switch x := c.(type) {
		case *net.TCPConn:
			return x
		case interface{ NetConn() net.Conn }:
			c = x.NetConn()
		default:
			return nil
		}
	}
}

// reset aborts the connection with a TCP RST. Without a hijackable connection (HTTP/2) it
// panics with http.ErrAbortHandler, which makes the server reset the stream.
func reset(w http.ResponseWriter) {
	c, _, ok := hijack(w)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	if t := tcp(c); t != nil {
		_ = t.SetLinger(0)
		_ = t.Close()
		return
	}
	_ = c.Close()
}

// truncate writes a response whose Content-Length promises twice the body, writes half of
// the body, and closes the connection.
func truncate(w http.ResponseWriter, body []byte) {
	c, rw, ok := hijack(w)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	defer c.Close()
	fmt.Fprintf(rw, "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", len(body))
	_, _ = rw.Write(body[:len(body)/2])
	_ = rw.Flush()
}

// OperationFromRequest returns the operation from the SOAPAction header (its last path
// segment, quotes removed), or else from the local name of the first child of soap:Body.
// Reading the body restores it for the next handler.
func OperationFromRequest(r *http.Request) string {
	if op := OperationFromSOAPAction(r); op != "" {
		return op
	}
	return OperationFromBody(r)
}

// OperationFromSOAPAction returns the last segment of the SOAPAction header (after '/' or
// '#'), or of the action parameter of a SOAP 1.2 Content-Type.
func OperationFromSOAPAction(r *http.Request) string {
	a := strings.Trim(strings.TrimSpace(r.Header.Get("SOAPAction")), `"`)
	if a == "" {
		ct := r.Header.Get("Content-Type")
		if i := strings.Index(ct, `action=`); i >= 0 {
			a = strings.Trim(strings.SplitN(ct[i+len("action="):], ";", 2)[0], `" `)
		}
	}
	if i := strings.LastIndexAny(a, "/#"); i >= 0 {
		a = a[i+1:]
	}
	return a
}

// OperationFromBody returns the local name of the first element inside the SOAP Body and
// puts the body back on r.
func OperationFromBody(r *http.Request) string {
	if r.Body == nil {
		return ""
	}
	data, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(data))
	if err != nil {
		return ""
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	inBody := false
	for {
		tok, err := d.Token()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok {
			if inBody {
				return se.Name.Local
			}
			inBody = se.Name.Local == "Body"
		}
	}
}

// ActorFromPath maps the request path to the portType name used as faultactor:
// …Consenso… → IGestoreConsenso, …Taccuino… → ITaccuino, anything else → IDocument.
func ActorFromPath(r *http.Request) string {
	p := strings.ToLower(r.URL.Path)
	switch {
	case strings.Contains(p, "consenso"):
		return "IGestoreConsenso"
	case strings.Contains(p, "taccuino"):
		return "ITaccuino"
	}
	return "IDocument"
}
