package adapter

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"github.com/hooklift/gowsdl/soap"

	"github.com/fsepuglia/fsepuglia/adapter/wssec/saml"
	"github.com/fsepuglia/fsepuglia/generated/document"
)

// RetrieveTo is Retrieve writing the file to w as the answer arrives: the hook decodes the
// document's base64 straight from the response into w and hands gowsdl the rest of the
// answer without it, so memory does not grow with the document's size. The returned
// Document carries the metadata and no Body. A read that would be retried after bytes
// reached w fails instead (w cannot be rewound).
func (s *DocumentService) RetrieveTo(ctx context.Context, patientCF, id string, w io.Writer) (*Document, error) {
	cf, err := checkCF("patient", patientCF)
	if err != nil {
		return nil, err
	}
	if id == "" || len(bytes.TrimSpace([]byte(id))) == 0 {
		return nil, &InputError{Field: "unique id", Msg: "is empty", Fix: "give the uniqueId of the document to retrieve"}
	}
	sink := &docSink{w: w}
	in := &document.RetrieveDocument{UniqueId: id}
	var out document.RetrieveDocumentResponse
	_, err = s.c.do(context.WithValue(ctx, sinkKey{}, sink), opRetrieveDocument, &saml.Attributes{PatientCF: cf, Consent: true}, func(ctx context.Context, sc *soap.Client) error {
		return into(ctx, &out, in, document.NewIDocument(sc).RetrieveDocumentContext)
	})
	if err != nil {
		return nil, err
	}
	if out.Document == nil || out.Metadata == nil {
		return nil, fmt.Errorf("adapter: retrieveDocument: answer without document")
	}
	if !sink.found {
		// The answer's shape kept the document out of the stream: gowsdl decoded it.
		if _, err := w.Write(out.Document.Document); err != nil {
			return nil, fmt.Errorf("adapter: writing the document: %w", err)
		}
	}
	d := &Document{Metadata: metadataFromWire(out.Metadata)}
	d.Metadata.DocumentName = out.Document.DocumentName
	return d, nil
}

type sinkKey struct{}

func sinkFrom(ctx context.Context) *docSink {
	s, _ := ctx.Value(sinkKey{}).(*docSink)
	return s
}

// docSink receives a retrieved document's bytes.
type docSink struct {
	w     io.Writer
	n     int64 // bytes written so far
	found bool  // the document's text was found in the answer and decoded into w
}

// errPartial is returned when a retry would resend a retrieve whose document was partly
// written.
var errPartial = errors.New("adapter: retrieveDocument failed after part of the document was written; not retried")

// docFilter passes an answer through unchanged except for the text of the first element
// named document directly inside another element named document (retrieveDocumentResponse
// > document > document, whatever the prefixes): that base64 is decoded into the sink and
// left out.
type docFilter struct {
	src       io.ReadCloser
	sink      *docSink
	in, ob    []byte
	out       []byte
	tag       []byte // the start of the tag being read
	inTag     bool
	prevStart string // local name of the last start tag; "" after an end tag
	text      bool   // inside the document's text
	b64       []byte // base64 characters not decoded yet
	dec       []byte
	err       error
	eof       bool
}

const maxTagKept = 1 << 10

func (f *docFilter) Close() error { return f.src.Close() }

func (f *docFilter) Read(p []byte) (int, error) {
	for len(f.out) == 0 {
		if f.err != nil {
			return 0, f.err
		}
		if f.eof {
			return 0, io.EOF
		}
		if f.in == nil {
			f.in, f.ob = make([]byte, 32<<10), make([]byte, 0, 32<<10)
		}
		n, err := f.src.Read(f.in)
		f.out = f.ob[:0]
		f.process(f.in[:n])
		f.ob = f.out[:0]
		switch {
		case err == io.EOF:
			f.eof = true
			if f.text && f.err == nil {
				f.err = errors.New("adapter: retrieveDocument answer ends inside the document")
			}
		case err != nil && f.err == nil:
			f.err = err
		}
	}
	n := copy(p, f.out)
	f.out = f.out[n:]
	return n, nil
}

func (f *docFilter) process(b []byte) {
	for len(b) > 0 && f.err == nil {
		switch {
		case f.text:
			i := bytes.IndexByte(b, '<')
			if i < 0 {
				f.base64(b, false)
				return
			}
			f.base64(b[:i], true)
			f.text = false
			b = b[i:]
		case f.inTag:
			i := bytes.IndexByte(b, '>')
			if i < 0 {
				f.keep(b)
				f.out = append(f.out, b...)
				return
			}
			f.keep(b[:i+1])
			f.out = append(f.out, b[:i+1]...)
			b = b[i+1:]
			f.inTag = false
			f.endOfTag()
		default:
			i := bytes.IndexByte(b, '<')
			if i < 0 {
				f.out = append(f.out, b...)
				return
			}
			f.out = append(f.out, b[:i]...)
			b = b[i:]
			f.inTag, f.tag = true, f.tag[:0]
		}
	}
}

func (f *docFilter) keep(b []byte) {
	if room := maxTagKept - len(f.tag); room > 0 {
		f.tag = append(f.tag, b[:min(len(b), room)]...)
	}
}

// endOfTag looks at the tag just read.
func (f *docFilter) endOfTag() {
	t := f.tag
	if len(t) < 3 || t[len(t)-1] != '>' || t[1] == '?' || t[1] == '!' {
		return
	}
	if t[1] == '/' || t[len(t)-2] == '/' {
		f.prevStart = ""
		return
	}
	name := t[1 : len(t)-1]
	if i := bytes.IndexAny(name, " \t\r\n"); i >= 0 {
		name = name[:i]
	}
	if i := bytes.LastIndexByte(name, ':'); i >= 0 {
		name = name[i+1:]
	}
	local := string(name)
	if local == "document" && f.prevStart == "document" && !f.sink.found {
		f.text, f.sink.found, f.prevStart = true, true, ""
		return
	}
	f.prevStart = local
}

// base64 decodes the document's text into the sink, whole quanta at a time.
func (f *docFilter) base64(b []byte, final bool) {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			f.b64 = append(f.b64, c)
		}
	}
	if len(f.b64) < 48<<10 && !final {
		return
	}
	k := len(f.b64) / 4 * 4
	if f.dec == nil {
		f.dec = make([]byte, 0, 48<<10)
	}
	f.dec = f.dec[:0]
	need := base64.StdEncoding.DecodedLen(k)
	if cap(f.dec) < need {
		f.dec = make([]byte, need)
	}
	n, err := base64.StdEncoding.Decode(f.dec[:need], f.b64[:k])
	if err != nil {
		f.err = fmt.Errorf("adapter: retrieveDocument: the document is not base64: %w", err)
		return
	}
	if n > 0 {
		w, err := f.sink.w.Write(f.dec[:n])
		f.sink.n += int64(w)
		if err != nil {
			f.err = fmt.Errorf("adapter: writing the document: %w", err)
			return
		}
	}
	f.b64 = append(f.b64[:0], f.b64[k:]...)
	if final && len(f.b64) != 0 {
		f.err = errors.New("adapter: retrieveDocument: the document's base64 is cut short")
	}
}
