// Package signeddoc makes complete FSE documents the way a producer does, with fsepuglia's
// own functions: the CDA signed XAdES-BES (adapter/xades), injected into the PDF as
// cda.xml (adapter/pdfattach), the PDF signed PAdES B-B (adapter/pades). Tests and the demo
// use it, so it does not import testing; Kit adds a throwaway CA and signer for tests.
package signeddoc

import (
	"fmt"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/pades"
	"github.com/fsepuglia/fsepuglia/adapter/pdfattach"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sign"
	"github.com/fsepuglia/fsepuglia/adapter/sign/signtest"
	"github.com/fsepuglia/fsepuglia/adapter/xades"
)

// Options choose which steps Make performs. The zero value performs all three.
type Options struct {
	// UnsignedCDA skips the XAdES signature of the CDA.
	UnsignedCDA bool
	// UnsignedPDF skips the PAdES signature of the PDF.
	UnsignedPDF bool
	// Now is the signing clock; nil means time.Now.
	Now func() time.Time
}

// Make signs cda (unless opt.UnsignedCDA), injects it into base as cda.xml and signs the
// result (unless opt.UnsignedPDF). It returns the PDF and the CDA as embedded.
func Make(s sign.Signer, cda, base []byte, opt Options) (pdf, embedded []byte, err error) {
	embedded = cda
	if !opt.UnsignedCDA {
		if embedded, err = xades.Sign(cda, s, xades.SignOptions{Now: opt.Now}); err != nil {
			return nil, nil, fmt.Errorf("signeddoc: sign the CDA: %w", err)
		}
	}
	if pdf, _, err = pdfattach.AttachBytes(base, embedded, pdfattach.Options{Now: opt.Now}); err != nil {
		return nil, nil, fmt.Errorf("signeddoc: inject: %w", err)
	}
	if !opt.UnsignedPDF {
		if pdf, err = pades.SignBytes(pdf, s, pades.SignOptions{Now: opt.Now}); err != nil {
			return nil, nil, fmt.Errorf("signeddoc: sign the PDF: %w", err)
		}
	}
	return pdf, embedded, nil
}

// Kit is a throwaway CA and operator signer (RSA-2048, the published test operator's CF) for
// tests. Make one per test binary: key generation takes a moment.
type Kit struct {
	CA     *signtest.CA
	Signer *signtest.Leaf
}

// NewKit creates a Kit.
func NewKit() (*Kit, error) {
	ca, err := signtest.NewCA("fsepuglia signeddoc test CA")
	if err != nil {
		return nil, err
	}
	leaf, err := ca.Issue(signtest.LeafOptions{})
	if err != nil {
		return nil, err
	}
	return &Kit{CA: ca, Signer: leaf}, nil
}

// Document makes a signed document from generated parts: c's CDA, XAdES-signed, injected
// into p's PDF (p.Attachment is ignored), PAdES-signed, as opt says.
func (k *Kit) Document(c pdfcdatest.CDA, p pdfcdatest.PDF, opt Options) ([]byte, error) {
	p.Attachment = nil
	pdf, _, err := Make(k.Signer, c.Bytes(), p.Bytes(), opt)
	return pdf, err
}

// SignedCDA returns c's CDA with a XAdES-BES signature by the kit's signer.
func (k *Kit) SignedCDA(c pdfcdatest.CDA) ([]byte, error) {
	return xades.Sign(c.Bytes(), k.Signer, xades.SignOptions{})
}
