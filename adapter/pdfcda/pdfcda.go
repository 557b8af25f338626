// Package pdfcda reads the document a producer hands to the FSE and finds its HL7 CDA R2
// header source: a PDF with the CDA embedded as the attachment "cda.xml" (the FSE 2.0 format),
// a bare CDA XML, or a CAdES envelope (.p7m) wrapping either. It also reports the
// signer-independent facts of PAdES signatures (signature dictionaries with /ByteRange and
// /Contents).
//
// The reader works on the bytes in memory (the caller needs them anyway to hash and send
// them) and never copies them: strings and uncompressed streams alias the input. Everything a
// hostile file could inflate is capped by Limits. See DESIGN.md for why this is a small
// purpose-built reader rather than a general PDF library.
//
// The functions are safe for concurrent use; a Document is not modified after Read returns.
package pdfcda

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// AttachmentName is the exact name the CDA attachment must have.
const AttachmentName = "cda.xml"

// Format is the kind of file Read recognised.
type Format string

// The formats Read recognises.
const (
	FormatPDF Format = "pdf"
	FormatXML Format = "xml"
	FormatP7M Format = "p7m"
)

// Limits caps what a hostile file can make the reader allocate. The zero value of a field
// means its default.
type Limits struct {
	// MaxInflate caps the decoded size of one stream (default 64 MiB).
	MaxInflate int64
	// MaxObjects caps the number of PDF objects indexed (default 1,000,000).
	MaxObjects int
	// MaxDepth caps the nesting of arrays and dictionaries (default 64).
	MaxDepth int
}

func (l Limits) withDefaults() Limits {
	if l.MaxInflate <= 0 {
		l.MaxInflate = 64 << 20
	}
	if l.MaxObjects <= 0 {
		l.MaxObjects = 1_000_000
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = 64
	}
	return l
}

// Signature is what can be said of a PDF signature dictionary without checking the
// signature itself.
type Signature struct {
	// Type is the dictionary's /Type (Sig or DocTimeStamp), empty when absent.
	Type string `json:"type,omitempty"`
	// SubFilter is /SubFilter, e.g. ETSI.CAdES.detached (PAdES) or adbe.pkcs7.detached.
	SubFilter string `json:"sub_filter,omitempty"`
	// ByteRange is /ByteRange as found.
	ByteRange []int64 `json:"byte_range"`
	// CoversWholeFile is true when ByteRange is [0 a b c] with b+c equal to the file size:
	// the signature covers every byte but its own /Contents (nothing was appended after it).
	CoversWholeFile bool `json:"covers_whole_file"`
	// ContentsSize is the size in bytes of the decoded /Contents (the CMS blob and padding).
	ContentsSize int `json:"contents_size"`
}

// Document is what Read found.
type Document struct {
	// Format is the recognised outer format.
	Format Format `json:"format"`
	// Inner is the format wrapped by a p7m envelope, empty otherwise.
	Inner Format `json:"inner_format,omitempty"`
	// PDFVersion is the version in the PDF header, e.g. "1.4".
	PDFVersion string `json:"pdf_version,omitempty"`
	// Attachments lists the names of the embedded files found in the EmbeddedFiles name tree.
	Attachments []string `json:"attachments,omitempty"`
	// CDA is the CDA XML: the decoded cda.xml attachment, the XML file itself, or the p7m
	// content. It is nil when a PDF holds no attachment named exactly cda.xml.
	CDA []byte `json:"-"`
	// Signatures lists the PDF signature dictionaries in file order.
	Signatures []Signature `json:"signatures,omitempty"`
	// Objects is the number of PDF objects indexed.
	Objects int `json:"objects,omitempty"`
	// Damaged is the number of object headers that could not be parsed (skipped).
	Damaged int `json:"damaged,omitempty"`
}

// SyntaxError is a malformed file.
type SyntaxError struct {
	Offset int64
	Msg    string
}

// Error implements error.
func (e *SyntaxError) Error() string {
	return "pdfcda: syntax error at offset " + strconv.FormatInt(e.Offset, 10) + ": " + e.Msg
}

// LimitError is a file that would exceed one of the Limits.
type LimitError struct {
	What  string
	Limit int64
}

// Error implements error.
func (e *LimitError) Error() string {
	return fmt.Sprintf("pdfcda: %s exceeds the limit of %d", e.What, e.Limit)
}

// UnsupportedError is a valid construct this reader does not decode (e.g. a filter).
type UnsupportedError struct {
	What string
}

// Error implements error.
func (e *UnsupportedError) Error() string { return "pdfcda: unsupported " + e.What }

// ErrUnknownFormat is returned for data that is neither a PDF, nor XML, nor a p7m envelope.
var ErrUnknownFormat = errors.New("pdfcda: not a PDF, an XML document or a p7m envelope")

// Detect returns the format of data from its first bytes, or "" when unknown.
func Detect(data []byte) Format {
	head := data[:min(len(data), 1024)]
	if bytes.HasPrefix(data, []byte("%PDF-")) {
		return FormatPDF
	}
	if len(data) > 2 && data[0] == 0x30 {
		if tag, _, _, err := berNext(data, 0); err == nil && tag == 0x30 {
			return FormatP7M
		}
	}
	if bytes.Contains(head, []byte("%PDF-")) {
		return FormatPDF
	}
	t := bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	t = bytes.TrimLeft(t, " \t\r\n")
	if len(t) > 0 && t[0] == '<' {
		return FormatXML
	}
	if len(data) > 2 && data[0] == 0x30 {
		return FormatP7M
	}
	return ""
}

// Read recognises data and extracts the CDA. A PDF without cda.xml is not an error: the
// Document says so with a nil CDA and lists the attachments it has.
func Read(data []byte, lim Limits) (*Document, error) {
	lim = lim.withDefaults()
	switch Detect(data) {
	case FormatPDF:
		return ReadPDF(data, lim)
	case FormatXML:
		return &Document{Format: FormatXML, CDA: data}, nil
	case FormatP7M:
		content, err := P7MContent(data)
		if err != nil {
			return nil, err
		}
		inner, err := Read(content, lim)
		if err != nil {
			return nil, fmt.Errorf("pdfcda: p7m content: %w", err)
		}
		if inner.Format == FormatP7M {
			return nil, &UnsupportedError{What: "nested p7m envelopes"}
		}
		inner.Inner, inner.Format = inner.Format, FormatP7M
		return inner, nil
	}
	return nil, ErrUnknownFormat
}

// ReadPDF reads a PDF: its cda.xml attachment and its signature dictionaries.
func ReadPDF(data []byte, lim Limits) (*Document, error) {
	lim = lim.withDefaults()
	f, err := scan(data, lim)
	if err != nil {
		return nil, err
	}
	if f.crypt {
		return nil, &UnsupportedError{What: "encrypted PDF (strings and streams cannot be read)"}
	}
	doc := &Document{Format: FormatPDF, Objects: len(f.objs), Damaged: f.damaged}
	if i := bytes.Index(data[:min(len(data), 1024)], []byte("%PDF-")); i >= 0 {
		v := data[i+5:]
		n := 0
		for n < len(v) && n < 4 && (v[n] == '.' || (v[n] >= '0' && v[n] <= '9')) {
			n++
		}
		doc.PDFVersion = string(v[:n])
	}
	doc.Signatures = f.signatures()
	names, cda, err := f.attachments()
	if err != nil {
		return nil, err
	}
	doc.Attachments, doc.CDA = names, cda
	return doc, nil
}
