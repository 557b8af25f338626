// Package cades verifies CAdES .p7m envelopes (a CMS SignedData with the signed document
// inside, as Italian signing tools write them, DER or BER).
//
// The envelope's content is what pdfcda reads as the document; Verify checks the signature
// over it: message-digest, the signature over the signed attributes, the ESS
// signing-certificate, and with VerifyOptions.Roots the chain at the signing time.
package cades

import (
	"errors"
	"fmt"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/cms"
	"github.com/fsepuglia/fsepuglia/adapter/sign"
)

// ErrDetached is returned for a SignedData without content (a detached signature: the
// document is elsewhere).
var ErrDetached = errors.New("cades: the envelope holds no content (a detached signature)")

// Verify checks the first signer of the .p7m envelope p7m and returns the result and the
// content. The error is nil when the signature is valid, an *sign.InvalidError when it is
// not, another error when p7m is not a SignedData with content.
func Verify(p7m []byte, opt sign.VerifyOptions) (*sign.Result, []byte, error) {
	p, err := cms.Parse(p7m)
	if err != nil {
		return nil, nil, fmt.Errorf("cades: %w", err)
	}
	if p.Content == nil {
		return nil, nil, ErrDetached
	}
	h := p.DigestAlgorithm()
	if h == 0 {
		r := &sign.Result{Format: sign.FormatCAdES}
		r.Problem("the envelope uses an unknown digest algorithm")
		return r, p.Content, r.Err(false)
	}
	w := h.New()
	w.Write(p.Content)
	r := p.Verify(w.Sum(nil), sign.FormatCAdES, time.Time{}, opt)
	return r, p.Content, r.Err(false)
}
