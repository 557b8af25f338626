package adapter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/hooklift/gowsdl/soap"

	"github.com/fsepuglia/fsepuglia/adapter/codicefiscale"
	"github.com/fsepuglia/fsepuglia/adapter/endpoint"
	"github.com/fsepuglia/fsepuglia/adapter/fault"
	"github.com/fsepuglia/fsepuglia/adapter/internal/soapdec"
	"github.com/fsepuglia/fsepuglia/adapter/retry"
	"github.com/fsepuglia/fsepuglia/adapter/wssec"
	"github.com/fsepuglia/fsepuglia/adapter/wssec/saml"
	"github.com/fsepuglia/fsepuglia/wsdl"
)

// Namespace is the target namespace of the three services, with its final slash
// (wsdl.Namespace; wsdl/PROVENANCE.md). An operation's Action is Namespace + operation.
const Namespace = wsdl.Namespace

// Roots of the identifiers in XDS metadata (domain.md §6).
const (
	cfRoot        = "2.16.840.1.113883.2.9.4.3.2"
	structureRoot = "2.16.840.1.113883.2.9.4.1.3"
)

// Version is the fsepuglia version sent as User-Agent and application version.
var Version = "0.1.0-dev"

// operation is one row of the contracts' table (wsdl.Operations) from the adapter's side.
type operation struct {
	name    string           // SOAP operation (wrapper element) name
	service endpoint.Service // which service it belongs to
	def     wsdl.Operation
}

// op returns the operation called name from the contracts' table.
func op(name string) operation {
	d := wsdl.MustLookup(name)
	return operation{name: d.Name, service: endpoint.Service(d.Service), def: d}
}

// do runs one SOAP call: it resolves the endpoint, builds the per-call gowsdl client that
// shares the Client's *http.Client, carries the call's security parameters to the hook in
// the context, retries transient failures of read operations, and types errors.
func (c *Client) do(ctx context.Context, op operation, attrs *saml.Attributes, fn func(ctx context.Context, sc *soap.Client) error) (string, error) {
	ep, ok := c.endpoints[op.service]
	if !ok {
		return "", fmt.Errorf("adapter: no endpoint for %s", op.service)
	}
	if _, has := ctx.Deadline(); !has {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	if attrs != nil {
		a := *attrs
		a.OperatorCF = c.cfg.Operator.CF
		a.Role = c.cfg.Operator.Role
		a.StructureCode = c.cfg.Structure.Code
		a.StructureName = c.cfg.Structure.Name
		vocab := op.def.National
		if c.profile == wssec.ProfilePuglia {
			vocab = op.def.Puglia
			// The observed profile names the ASL as organization (ASLBA in #2501).
			a.Organization = strings.ToUpper(strings.TrimSuffix(strings.ToLower(c.cfg.ASL), "_test"))
		}
		a.PurposeOfUse = vocab.PurposeOfUse
		a.Action = vocab.ActionID
		a.ApplicationID = c.cfg.Application.ID
		a.Vendor = c.cfg.Application.Vendor
		a.Version = c.cfg.Application.Version
		attrs = &a
	}
	kind := retry.Write
	if op.def.Read {
		kind = retry.Read
	}
	policy := c.retry
	policy.OnRetry = func(attempt int, err error, wait time.Duration) {
		c.log.Info("retrying transient failure", map[string]any{"operation": op.name, "attempt": attempt,
			"wait": wait.String(), "error": fault.Redact(err.Error())})
	}
	var messageID string
	err := policy.Do(ctx, kind, func(ctx context.Context) error {
		cc := &call{op: op.name, service: string(op.service), url: ep.URL,
			action: op.def.Action(), messageID: wssec.NewMessageID(), attrs: attrs}
		messageID = cc.messageID
		// One soap.Client per call: its header slice is not safe to share; the
		// *http.Client under it is, and is what keeps connections alive.
		sc := soap.NewClient(ep.URL, soap.WithHTTPClient(hook{c}))
		if err := fn(withCall(ctx, cc), sc); err != nil {
			// A fault sent with HTTP 200 reaches us as *soap.SOAPFault without its detail
			// (the generated methods call CallContext): parse the answer's head instead.
			var sf *soap.SOAPFault
			if errors.As(err, &sf) && len(cc.head) > 0 {
				if f, ok := fault.Parse(cc.head, cc.status); ok {
					f.Op, f.Endpoint = op.name, ep.URL
					return f
				}
			}
			err = fault.FromError(err, op.name, ep.URL)
			var se *fault.StatusError
			if cc.retryAfter != "" && errors.As(err, &se) {
				se.RetryAfter = fault.ParseRetryAfter(cc.retryAfter, c.now())
			}
			return err
		}
		return nil
	})
	if err != nil {
		fields := map[string]any{"operation": op.name, "asl": c.cfg.ASL, "environment": c.cfg.Environment,
			"message_id": messageID, "class": fault.Classify(err).String()}
		var f *fault.Fault
		if errors.As(err, &f) {
			fields["fault_code"], fields["http_status"] = f.Code, f.HTTPStatus
		}
		c.log.Info("call failed", fields)
	}
	return messageID, err
}

// checkCF validates a fiscal code that enters the adapter, naming the field.
func checkCF(field, cf string) (string, error) {
	n := codicefiscale.Normalize(cf)
	if err := codicefiscale.Validate(n); err != nil {
		return "", &InputError{Field: field, Msg: err.Error(), Fix: "give the patient's 16-character codice fiscale (or an STP/ENI code)"}
	}
	return n, nil
}

// patientID formats a CF as the XDS patient id CF^^^&2.16.840.1.113883.2.9.4.3.2&ISO.
func patientID(cf string) string { return cf + "^^^&" + cfRoot + "&ISO" }

// parsePatientID returns the bare CF of an XDS patient id (or of a bare CF).
func parsePatientID(v string) string { cf, _, _ := strings.Cut(v, "^"); return cf }

// xon formats a structure as an XDS authorInstitution: NAME^^^^^&ROOT&ISO^^^^CODE.
func xon(name, code string) string { return name + "^^^^^&" + structureRoot + "&ISO^^^^" + code }

// parseXON is the inverse of xon; a value without ^ is taken as a code.
func parseXON(v string) (name, code string) {
	parts := strings.Split(v, "^")
	if len(parts) == 1 {
		return "", v
	}
	return parts[0], parts[len(parts)-1]
}

func xsdDateTime(t time.Time) soap.XSDDateTime {
	if t.IsZero() {
		return soap.XSDDateTime{}
	}
	return soap.CreateXsdDateTime(t, true)
}

func goTime(x soap.XSDDateTime) time.Time {
	t := x.ToGoTime()
	if t.IsZero() || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}

func xsdDate(t time.Time) soap.XSDDate {
	if t.IsZero() {
		return soap.XSDDate{}
	}
	return soap.CreateXsdDate(t, false)
}

func goDate(x soap.XSDDate) time.Time {
	t := x.ToGoTime()
	if t.Year() <= 1 {
		return time.Time{}
	}
	return t
}

// Answers are decoded by soapdec (adapter/internal/soapdec), not by gowsdl's encoding/xml:
// the generated method runs as usual, but the hook reads a 2xx answer whole, decodes it into
// the call's target and hands gowsdl an empty Envelope (a Fault comes back as the
// *soap.SOAPFault gowsdl would return). Answers soapdec is not given (larger than
// maxDecoded, MTOM) are decoded by gowsdl as before and copied into the target.

// maxDecoded is the largest answer soapdec decodes; a larger one (a retrieved document of
// several MB through Retrieve) is left to gowsdl's streaming decoder, which does not hold
// the answer's text twice.
const maxDecoded = 4 << 20

// maxAnswer bounds an answer left to gowsdl, whose decoder holds the whole base64 text of a
// document: a document retrieved into memory can be up to ≈ 750 MB; RetrieveTo, which
// writes it to a file as it arrives, has no such bound (only what is left of its answer).
var maxAnswer int64 = 1 << 30

var errAnswerTooLarge = fmt.Errorf("adapter: answer larger than %d MiB refused (retrieve large documents with RetrieveTo)", maxAnswer>>20)

// cappedBody fails a read past maxAnswer bytes.
type cappedBody struct {
	r    io.Reader
	c    io.Closer
	left int64 // bytes still allowed, plus one
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	if b.left -= int64(n); b.left <= 0 {
		return n, errAnswerTooLarge
	}
	return n, err
}

func (b *cappedBody) Close() error { return b.c.Close() }

// answerBufs are the buffers answers of unknown length are read into before their one copy;
// one that grew past answerBufMax is left to the collector.
var answerBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const answerBufMax = 1 << 20

// emptyEnvelope is what gowsdl decodes once soapdec has decoded the answer.
const emptyEnvelope = `<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body></Body></Envelope>`

// answersDecoded counts the answers decoded by soapdec (tests check every operation's).
var answersDecoded atomic.Int64

// answerTarget is where a call's answer goes.
type answerTarget struct {
	out     any  // pointer to the generated response struct
	decoded bool // soapdec filled out
}

type answerKey struct{}

func answerFrom(ctx context.Context) *answerTarget {
	t, _ := ctx.Value(answerKey{}).(*answerTarget)
	return t
}

// into calls a generated method (call, e.g. document.NewIDocument(sc).SearchDocumentsContext)
// with in, its answer decoded by soapdec into *out.
func into[Req, Resp any](ctx context.Context, out *Resp, in *Req, call func(context.Context, *Req) (*Resp, error)) error {
	t := &answerTarget{out: out}
	r, err := call(context.WithValue(ctx, answerKey{}, t), in)
	if err != nil {
		return err
	}
	if !t.decoded && r != nil {
		*out = *r
	}
	return nil
}

// read decodes a 2xx answer into the target (the hook's part): it reads the body to its end
// and closes it (the connection is reused), and leaves gowsdl an empty Envelope. A Fault is
// returned as *soap.SOAPFault, a malformed answer as soapdec's error (a truncated one is an
// *xml.SyntaxError "unexpected EOF", transient as before). With a sink (RetrieveTo), the body
// has been filtered: the document went to the file, what is read here is the rest.
//
// An answer read whole is read past the hook's headTee (its copy of the first bytes would
// duplicate what is already in memory): cc.head is set from the answer itself when it is
// not decoded into the target (a fault, a malformed answer, one left to gowsdl). A filtered
// answer went through the tee (its head is what arrived, the document included).
func (t *answerTarget) read(res *http.Response, cc *call, filtered bool) error {
	if !filtered && res.ContentLength > maxAnswer {
		res.Body.Close()
		return errAnswerTooLarge
	}
	if ct := res.Header.Get("Content-Type"); strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "multipart/") {
		res.Body = &cappedBody{r: res.Body, c: res.Body, left: maxAnswer + 1}
		return nil // MTOM or attachments: gowsdl's decoders
	}
	if !filtered && res.ContentLength > maxDecoded {
		res.Body = &cappedBody{r: res.Body, c: res.Body, left: maxAnswer + 1}
		return nil
	}
	src := res.Body
	if h, ok := src.(*headTee); ok && !filtered {
		src = h.ReadCloser
	}
	var s string
	if n := res.ContentLength; n > 0 && !filtered {
		// The announced size (≤ maxDecoded), read into one slice of that size: no growing
		// buffer, no io.Copy buffer, no copy into a string. net/http's body ends at n bytes
		// (a shorter one fails with io.ErrUnexpectedEOF, as io.Copy did).
		b := make([]byte, n)
		if _, err := io.ReadFull(src, b); err != nil {
			res.Body.Close()
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		// b is never written again: the string (and the substrings soapdec keeps of it)
		// share its memory, as strings.Builder's String does.
		s = unsafe.String(unsafe.SliceData(b), len(b))
	} else {
		// Length unknown (chunked) or filtered: read into a reused buffer, then one copy of
		// the exact size (a growing string would allocate about twice the answer).
		buf := answerBufs.Get().(*bytes.Buffer)
		buf.Reset()
		m, err := buf.ReadFrom(io.LimitReader(src, maxDecoded+1))
		s = buf.String()
		if buf.Cap() <= answerBufMax {
			answerBufs.Put(buf)
		}
		if err != nil {
			res.Body.Close()
			return err
		}
		if m > maxDecoded {
			// Larger than announced (or not announced): gowsdl reads it all, as before.
			if !filtered {
				cc.head = []byte(s[:headLimit])
			}
			res.Body = &cappedBody{r: io.MultiReader(strings.NewReader(s), src), c: res.Body, left: maxAnswer + 1}
			return nil
		}
	}
	res.Body.Close()
	v := reflect.ValueOf(t.out).Elem()
	v.SetZero() // a retried call starts afresh
	f, err := soapdec.DecodeString(s, t.out, soapdec.DefaultLimits)
	if (err != nil || f != nil) && !filtered {
		cc.head = []byte(s[:min(len(s), headLimit)])
	}
	if err != nil {
		return fmt.Errorf("adapter: reading the answer: %w", err)
	}
	answersDecoded.Add(1)
	if f != nil {
		return f
	}
	t.decoded = true
	res.Body = io.NopCloser(strings.NewReader(emptyEnvelope))
	res.ContentLength = int64(len(emptyEnvelope))
	return nil
}
