// Package pades signs a PDF with a PAdES B-B signature (ETSI EN 319 142-1: SubFilter
// ETSI.CAdES.detached, a CMS over the /ByteRange, ESS signing-certificate-v2, the time in
// /M) as an incremental update, and verifies the signatures of a PDF: the CMS over each
// /ByteRange, the signer's certificate, whether the range covers the whole file but the
// /Contents, and how many bytes were appended after each signature.
//
// Signing streams: the input is read through an io.ReaderAt and hashed where it lies, the
// output written as input followed by the update, so memory does not grow with the file
// (BenchmarkSign100MB). Verification hashes the two ranges of the bytes it is given, without
// copying them. The functions are safe for concurrent use.
package pades

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/digitorus/pdf"

	"github.com/fsepuglia/fsepuglia/adapter/cms"
	"github.com/fsepuglia/fsepuglia/adapter/pdfupdate"
	"github.com/fsepuglia/fsepuglia/adapter/sign"
)

// SignOptions configure Sign. The zero value signs at time.Now with the signer's default
// hash and names the field "Firma<n>".
type SignOptions struct {
	// Now is the clock for /M; nil means time.Now.
	Now func() time.Time
	// Reason and Location fill /Reason and /Location when not empty.
	Reason, Location string
	// FieldName is the signature field's /T (default "Firma" + its number).
	FieldName string
}

const byteRangePlaceholder = "[0 0000000000 0000000000 0000000000]"

// Sign writes to dst the PDF read from src (size bytes) followed by an incremental update
// that signs it: a signature dictionary, an invisible signature field added to the
// catalog's /AcroForm (existing fields and signatures kept), a cross-reference section and
// a trailer. The input is read twice (to hash it and to copy it) and never held in memory.
func Sign(dst io.Writer, src io.ReaderAt, size int64, s sign.Signer, opt SignOptions) error {
	update, err := prepare(src, size, s, opt)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, io.NewSectionReader(src, 0, size)); err != nil {
		return fmt.Errorf("pades: write: %w", err)
	}
	if _, err := dst.Write(update); err != nil {
		return fmt.Errorf("pades: write: %w", err)
	}
	return nil
}

// SignBytes returns pdf followed by the signing update (one allocation of the result's
// size). Callers that can write the input and the update separately should use Sign.
func SignBytes(data []byte, s sign.Signer, opt SignOptions) ([]byte, error) {
	update, err := prepare(bytes.NewReader(data), int64(len(data)), s, opt)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(data)+len(update))
	return append(append(out, data...), update...), nil
}

// prepare builds the signed update for src.
func prepare(src io.ReaderAt, size int64, s sign.Signer, opt SignOptions) ([]byte, error) {
	doc, err := pdfupdate.Open(src, size)
	if err != nil {
		return nil, fmt.Errorf("pades: %w", err)
	}
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	h := sign.Hash(s.Public())
	reserve := estimate(s)

	var update []byte
	err = pdfupdate.Do(func() error {
		cat := doc.Catalog()
		catRef, ok := pdfupdate.KeyRef(doc.Reader().Trailer(), "Root")
		if !ok {
			return &pdfupdate.Error{Msg: "the catalog is not an indirect object"}
		}
		page, ok := firstPage(cat)
		if !ok {
			return &pdfupdate.Error{Msg: "the PDF has no page to attach the signature field to"}
		}
		acro := cat.Key("AcroForm")
		fields := acro.Key("Fields")
		fieldRefs, err := pdfupdate.FormatElements(fields)
		if err != nil {
			return err
		}
		name := opt.FieldName
		if name == "" {
			name = fmt.Sprintf("Firma%d", fields.Len()+1)
		}
		var sd strings.Builder
		sd.WriteString("<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached")
		sd.WriteString(" /M " + pdfupdate.String(pdfupdate.Date(now())))
		if cn := s.Certificate().Subject.CommonName; cn != "" {
			sd.WriteString(" /Name " + pdfupdate.String(cn))
		}
		if opt.Reason != "" {
			sd.WriteString(" /Reason " + pdfupdate.String(opt.Reason))
		}
		if opt.Location != "" {
			sd.WriteString(" /Location " + pdfupdate.String(opt.Location))
		}
		sd.WriteString(" /ByteRange " + byteRangePlaceholder + " /Contents <" + strings.Repeat("0", 2*reserve) + "> >>")
		sigRef := doc.Add([]byte(sd.String()))
		fieldRef := doc.Add([]byte(fmt.Sprintf("<< /Type /Annot /Subtype /Widget /FT /Sig /T %s /V %s /Rect [0 0 0 0] /F 132 /P %s >>",
			pdfupdate.String(name), sigRef, page)))
		fieldRefs = append(fieldRefs, fieldRef.String())
		newFields := "/Fields [" + strings.Join(fieldRefs, " ") + "] /SigFlags 3"
		if acroRef, ok := pdfupdate.KeyRef(cat, "AcroForm"); ok && acro.Kind() == pdf.Dict {
			body, err := pdfupdate.FormatDictWithout(acro, newFields, "Fields", "SigFlags")
			if err != nil {
				return err
			}
			doc.Replace(acroRef, []byte(body))
		} else {
			inner := "<< " + newFields + " >>"
			if acro.Kind() == pdf.Dict {
				var err error
				if inner, err = pdfupdate.FormatDictWithout(acro, newFields, "Fields", "SigFlags"); err != nil {
					return err
				}
			}
			body, err := pdfupdate.FormatDictWithout(cat, "/AcroForm "+inner, "AcroForm")
			if err != nil {
				return err
			}
			doc.Replace(catRef, []byte(body))
		}
		update, err = doc.Update()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pades: %w", err)
	}

	// Fill in the ByteRange, then hash everything but the /Contents hex string.
	at := bytes.Index(update, []byte(byteRangePlaceholder))
	open := bytes.Index(update[at:], []byte("/Contents <")) + at + len("/Contents ")
	end := open + 2 + 2*reserve
	b, c := size+int64(open), size+int64(end)
	br := fmt.Sprintf("[0 %010d %010d %010d]", b, c, size+int64(len(update))-c)
	copy(update[at:], br)

	w := h.New()
	if _, err := io.Copy(w, io.NewSectionReader(src, 0, size)); err != nil {
		return nil, fmt.Errorf("pades: read: %w", err)
	}
	w.Write(update[:open])
	w.Write(update[end:])
	der, err := cms.SignDetached(w.Sum(nil), h, s, cms.SignOptions{})
	if err != nil {
		return nil, fmt.Errorf("pades: %w", err)
	}
	if len(der) > reserve {
		return nil, fmt.Errorf("pades: the signature (%d bytes) does not fit the %d reserved (a bug)", len(der), reserve)
	}
	hex.Encode(update[open+1:], der)
	return update, nil
}

// firstPage returns the reference of the first page.
func firstPage(cat pdf.Value) (pdfupdate.Ref, bool) {
	node := cat.Key("Pages")
	for depth := 0; depth < 32; depth++ {
		kids := node.Key("Kids")
		if kids.Len() == 0 {
			return pdfupdate.Ref{}, false
		}
		kid := kids.Index(0)
		if kid.Key("Type").Name() == "Page" || kid.Key("Kids").Kind() == pdf.Null {
			return pdfupdate.RefOf(kid)
		}
		node = kid
	}
	return pdfupdate.Ref{}, false
}

// estimate returns the bytes to reserve for the CMS: certificates, signature, attributes.
func estimate(s sign.Signer) int {
	n := len(s.Certificate().Raw) + 2048
	for _, c := range s.Chain() {
		n += len(c.Raw)
	}
	switch k := s.Public().(type) {
	case *rsa.PublicKey:
		n += k.Size()
	case *ecdsa.PublicKey:
		n += 2*(k.Curve.Params().BitSize+7)/8 + 16
	}
	return n
}
