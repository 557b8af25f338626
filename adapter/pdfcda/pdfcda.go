// Package pdfcda reads the document a producer hands to the FSE and finds its HL7 CDA R2
// source: a PDF with the CDA embedded as the attachment "cda.xml" (the FSE 2.0 format), a
// bare CDA XML, or a CAdES envelope (.p7m) wrapping either. It also reports what a signature
// verifier needs of the PAdES signatures (the /ByteRange, the /Contents bytes, whether the
// signed range is the whole file but the /Contents string, and how many incremental updates
// follow it) and the attributes of the embedded file.
//
// Read is strict: a PDF is read through its cross-reference sections, as a conforming reader
// does, and a file whose structure is broken (no startxref, no %%EOF after it, a
// cross-reference section or trailer that does not resolve, an object that is not where the
// cross-reference says, a stream whose /Length misses endstream) is refused with a
// *StructureError. ReadRepair reads such files anyway by scanning for objects (the recovery
// mode of mainstream readers) and says what it repaired; it is for explicit opt-in only.
//
// Read works on bytes in memory and never copies them; ReadAt reads a file (an io.ReaderAt)
// the same way, through the same code, but only what it parses: the cross-reference
// sections and trailers, each object in a window of its own (stream data is skipped by its
// /Length), and the streams it decodes (cross-reference and object streams, cda.xml),
// inflated straight from the file. Its memory is the parsed objects and the decoded CDA,
// not the file. Everything a hostile file could make it allocate or parse is capped by
// Limits, and the work is linear in the input. See DESIGN.md for why this is a small purpose-built reader rather than a
// general PDF library.
//
// The functions are safe for concurrent use; a Document is not modified after Read returns.
package pdfcda

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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

// Limits caps what a hostile file can make the reader allocate or parse. The zero value of a
// field means its default.
type Limits struct {
	// MaxInflate caps the decoded size of one stream (default 64 MiB); the whole file may
	// inflate at most four times as much.
	MaxInflate int64
	// MaxObjects caps the number of PDF objects indexed (default 1,000,000).
	MaxObjects int
	// MaxDepth caps the nesting of arrays and dictionaries (default 64).
	MaxDepth int
	// MaxWork caps the bytes the object parser examines over the whole read, counting
	// every object, cross-reference section and object stream parsed (default 16 bytes
	// per input byte plus 4 MiB). A well-formed file costs about one byte per byte of its
	// non-stream content; the cap is what keeps hostile overlapping objects linear.
	MaxWork int64
}

func (l Limits) withDefaults(size int) Limits {
	if l.MaxInflate <= 0 {
		l.MaxInflate = 64 << 20
	}
	if l.MaxInflate > 1<<40 {
		l.MaxInflate = 1 << 40 // keeps 4×MaxInflate far from overflow
	}
	if l.MaxObjects <= 0 {
		l.MaxObjects = 1_000_000
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = 64
	}
	if l.MaxWork <= 0 {
		l.MaxWork = 16*int64(size) + 4<<20
	}
	return l
}

// Signature is what can be said of a PDF signature dictionary without checking the
// cryptography: everything a verifier needs to check it.
type Signature struct {
	// Object is the number of the indirect object holding the signature dictionary.
	Object int64 `json:"object,omitempty"`
	// Type is the dictionary's /Type (Sig or DocTimeStamp), empty when absent.
	Type string `json:"type,omitempty"`
	// Filter is /Filter, e.g. Adobe.PPKLite.
	Filter string `json:"filter,omitempty"`
	// SubFilter is /SubFilter, e.g. ETSI.CAdES.detached (PAdES) or adbe.pkcs7.detached.
	SubFilter string `json:"sub_filter,omitempty"`
	// Name, Reason, Location and M (the signing time, as written: D:YYYYMMDDHHmmSS+HH'mm')
	// are the optional text entries of the dictionary. They are claims of the signer's
	// software, not verified facts.
	Name     string `json:"name,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Location string `json:"location,omitempty"`
	M        string `json:"m,omitempty"`
	// ByteRange is /ByteRange as found (-1 for an entry that is not a non-negative integer).
	ByteRange []int64 `json:"byte_range"`
	// CoversWholeFile is true when ByteRange is [0 a b c] with [a, b) exactly the /Contents
	// hex string (its delimiters included) and b+c the file size: the signature covers
	// every byte of the file but its own value.
	CoversWholeFile bool `json:"covers_whole_file"`
	// UpdatesAfter counts the incremental updates (revisions, each with its own
	// cross-reference section) that start after the signed range ends. Anything after the
	// signed range is unsigned; an update can change what the document shows.
	UpdatesAfter int `json:"updates_after"`
	// ContentsSize is the size in bytes of the decoded /Contents (the CMS blob and padding).
	ContentsSize int `json:"contents_size"`
	// Contents is the decoded /Contents: a DER CMS SignedData (PAdES, adbe.pkcs7.detached)
	// or RFC 3161 TimeStampToken (DocTimeStamp), usually followed by zero padding.
	Contents []byte `json:"-"`
}

// SignedData returns the bytes the signature covers, the ByteRange's two ranges of file
// (the exact bytes Read was given), as a reader over file: nothing is copied. It fails when
// the ByteRange is not two ranges inside the file, in order.
func (s *Signature) SignedData(file []byte) (io.Reader, error) {
	return s.SignedDataAt(bytes.NewReader(file), int64(len(file)))
}

// SignedDataAt is SignedData for the size bytes of file that ReadAt was given: a reader of
// the two ranges, reading file as it is read.
func (s *Signature) SignedDataAt(file io.ReaderAt, n int64) (io.Reader, error) {
	r := s.ByteRange
	if len(r) != 4 {
		return nil, fmt.Errorf("pdfcda: /ByteRange has %d entries, want 4", len(r))
	}
	for _, v := range r {
		if v < 0 || v > n {
			return nil, fmt.Errorf("pdfcda: /ByteRange %v is outside the file (%d bytes)", r, n)
		}
	}
	if r[1] > n-r[0] || r[3] > n-r[2] || r[0]+r[1] > r[2] {
		return nil, fmt.Errorf("pdfcda: /ByteRange %v is not two ordered ranges inside the file (%d bytes)", r, n)
	}
	return io.MultiReader(io.NewSectionReader(file, r[0], r[1]), io.NewSectionReader(file, r[2], r[3])), nil
}

// EmbeddedFile is one entry of the EmbeddedFiles name tree: the file specification and what
// its embedded file stream says about itself.
type EmbeddedFile struct {
	// Key is the name-tree key; Name the file name that counts (/UF, else /F, else Key).
	Key  string `json:"key"`
	Name string `json:"name"`
	// F and UF are the file specification's /F and /UF as written (empty when absent).
	F  string `json:"f,omitempty"`
	UF string `json:"uf,omitempty"`
	// Desc is /Desc.
	Desc string `json:"desc,omitempty"`
	// AFRelationship is the PDF/A-3 /AFRelationship (Source, Data, Alternative, ...).
	AFRelationship string `json:"af_relationship,omitempty"`
	// InAF is true when the catalog's /AF array lists this file specification (PDF/A-3
	// associated file of the document).
	InAF bool `json:"in_af"`
	// Subtype is the embedded file stream's /Subtype, a MIME type (e.g. application/xml).
	Subtype string `json:"subtype,omitempty"`
	// Filter is the stream's filter (FlateDecode) or empty.
	Filter string `json:"filter,omitempty"`
	// Size is /Params /Size (-1 when absent); CheckSum /Params /CheckSum (an MD5, nil when
	// absent); CreationDate and ModDate /Params' dates as written.
	Size         int64  `json:"size"`
	CheckSum     []byte `json:"checksum,omitempty"`
	CreationDate string `json:"creation_date,omitempty"`
	ModDate      string `json:"mod_date,omitempty"`
	// Spec and Stream are the object numbers of the file specification and of the embedded
	// file stream (0 for a direct file specification).
	Spec   int64 `json:"spec_object,omitempty"`
	Stream int64 `json:"stream_object,omitempty"`
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
	// EmbeddedFiles describes the same files, in the same order.
	EmbeddedFiles []EmbeddedFile `json:"embedded_files,omitempty"`
	// CDAFile is the entry of EmbeddedFiles that is cda.xml, nil when there is none.
	CDAFile *EmbeddedFile `json:"cda_file,omitempty"`
	// CDA is the CDA XML: the decoded cda.xml attachment, the XML file itself, or the p7m
	// content. It is nil when a PDF holds no attachment named exactly cda.xml.
	CDA []byte `json:"-"`
	// Signatures lists the PDF signature dictionaries in file order.
	Signatures []Signature `json:"signatures,omitempty"`
	// Revisions is the number of revisions: the original file and its incremental
	// updates, one cross-reference section each (0 when ReadRepair had to scan).
	Revisions int `json:"revisions,omitempty"`
	// XRefStream is true when the newest cross-reference section is a stream (PDF 1.5).
	XRefStream bool `json:"xref_stream,omitempty"`
	// Objects is the number of PDF objects indexed.
	Objects int `json:"objects,omitempty"`
	// Repaired is empty for a sound structure. ReadRepair sets it to what was broken when
	// it had to scan the file for objects; Damaged then counts the object headers that
	// could not be parsed and were skipped.
	Repaired string `json:"repaired,omitempty"`
	Damaged  int    `json:"damaged,omitempty"`
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

// StructureError is a PDF whose file structure is broken: a conforming reader cannot find
// its objects without guessing. Part names what is broken: "startxref", "%%EOF", "xref" (a
// cross-reference section), "trailer", or "object N G".
type StructureError struct {
	Part   string
	Offset int64 // -1 when there is no meaningful offset
	Msg    string
}

// Error implements error.
func (e *StructureError) Error() string {
	at := ""
	if e.Offset >= 0 {
		at = " at offset " + strconv.FormatInt(e.Offset, 10)
	}
	return "pdfcda: broken PDF structure (" + e.Part + at + "): " + e.Msg
}

func structErr(part string, off int, format string, args ...any) *StructureError {
	return &StructureError{Part: part, Offset: int64(off), Msg: fmt.Sprintf(format, args...)}
}

// AttachmentError is an EmbeddedFiles name tree that does not yield exactly one readable
// cda.xml: two of them (which one is the document?), or one without an embedded file stream.
type AttachmentError struct {
	Name string
	// Count is the number of file specifications named Name.
	Count int
	Msg   string
}

// Error implements error.
func (e *AttachmentError) Error() string {
	return "pdfcda: attachment " + strconv.Quote(e.Name) + ": " + e.Msg
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

// ReadError is a failure to read the file given to ReadAt (or a file shorter than the size
// given): not something the document says.
type ReadError struct{ Err error }

// Error implements error.
func (e *ReadError) Error() string { return "pdfcda: read: " + e.Err.Error() }

// Unwrap returns the read error.
func (e *ReadError) Unwrap() error { return e.Err }

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

// Read recognises data and extracts the CDA. A PDF is read strictly (see the package
// documentation); a PDF without cda.xml is not an error: the Document says so with a nil
// CDA and lists the attachments it has. Two attachments named cda.xml are an
// *AttachmentError, returned with the Document (its attachments, no CDA).
func Read(data []byte, lim Limits) (*Document, error) { return read(data, lim, false) }

// ReadRepair is Read for damaged PDFs: when the strict reading fails with a
// *StructureError it scans the file for objects instead (a later definition of an object
// wins), takes the catalog of the last trailer that resolves, and sets Document.Repaired.
// What it returns may not be what the producer meant: use it only on explicit request.
func ReadRepair(data []byte, lim Limits) (*Document, error) { return read(data, lim, true) }

// ReadAt is Read for the size bytes of r (an *os.File): a PDF is read in windows, never
// whole (see the package documentation), with the same verdicts as Read. A bare XML or a
// p7m envelope is read whole (the CDA is the file, or inside it), and so is a PDF that
// ReadRepairAt has to scan. A read error, or a file shorter than size, is a *ReadError.
func ReadAt(r io.ReaderAt, size int64, lim Limits) (*Document, error) {
	return readAt(r, size, lim, false, windows{})
}

// ReadRepairAt is ReadRepair for the size bytes of r, read as ReadAt does.
func ReadRepairAt(r io.ReaderAt, size int64, lim Limits) (*Document, error) {
	return readAt(r, size, lim, true, windows{})
}

// ReadPDFAt is ReadPDF for the size bytes of r, read as ReadAt does.
func ReadPDFAt(r io.ReaderAt, size int64, lim Limits) (*Document, error) {
	if size < 0 || size > maxSize {
		return nil, fmt.Errorf("pdfcda: a file of %d bytes cannot be read", size)
	}
	return readPDF(newFile(nil, r, int(size), lim.withDefaults(int(size))), false)
}

// maxSize bounds what ReadAt accepts (offsets are ints).
const maxSize = 1<<62 - 1

// windows overrides the window sizes of a file read through an io.ReaderAt (tests).
type windows struct{ first, chunk int }

func readAt(r io.ReaderAt, size int64, lim Limits, repair bool, w windows) (*Document, error) {
	if size < 0 || size > maxSize {
		return nil, fmt.Errorf("pdfcda: a file of %d bytes cannot be read", size)
	}
	head := make([]byte, min(size, 1024))
	if err := readFull(r, head, 0); err != nil {
		return nil, err
	}
	// Detect(head) is Detect(data) but for the p7m check, which needs the whole file.
	if bytes.HasPrefix(head, []byte("%PDF-")) || (len(head) > 0 && head[0] != 0x30 && Detect(head) == FormatPDF) {
		f := newFile(nil, r, int(size), lim.withDefaults(int(size)))
		if w.first > 0 {
			f.minWindow, f.chunkSize = w.first, w.chunk
		}
		return readPDF(f, repair)
	}
	data := make([]byte, size)
	if err := readFull(r, data, 0); err != nil {
		return nil, err
	}
	return read(data, lim, repair)
}

// readFull fills buf from r at off; a short read is io.ErrUnexpectedEOF.
func readFull(r io.ReaderAt, buf []byte, off int64) error {
	n, err := r.ReadAt(buf, off)
	if n == len(buf) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return &ReadError{Err: err}
}

func read(data []byte, lim Limits, repair bool) (*Document, error) {
	lim = lim.withDefaults(len(data))
	switch Detect(data) {
	case FormatPDF:
		return readPDF(newFile(data, nil, 0, lim), repair)
	case FormatXML:
		return &Document{Format: FormatXML, CDA: data}, nil
	case FormatP7M:
		content, err := P7MContent(data)
		if err != nil {
			return nil, err
		}
		inner, err := read(content, lim, repair)
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

// ReadPDF reads a PDF strictly: its cda.xml attachment and its signature dictionaries.
func ReadPDF(data []byte, lim Limits) (*Document, error) {
	return readPDF(newFile(data, nil, 0, lim.withDefaults(len(data))), false)
}

// readPDF reads f (strictly; with repair, by a scan of the whole file when the structure is
// broken). A read error of the file wins over what it made the reader find.
func readPDF(f *file, repair bool) (*Document, error) {
	err := f.readXRef()
	var se *StructureError
	if f.ioErr == nil && err != nil && repair && errors.As(err, &se) {
		data := f.b
		if data == nil { // the scan reads every byte: the file is read into memory
			data = make([]byte, f.size)
			if rerr := readFull(f.ra, data, 0); rerr != nil {
				return nil, rerr
			}
		}
		f = newFile(data, nil, 0, f.lim)
		f.repaired = se.Error()
		err = f.scan()
	}
	doc, err := f.document(err)
	if f.ioErr != nil {
		return nil, &ReadError{Err: f.ioErr}
	}
	return doc, err
}

// document builds the Document of a file whose objects were indexed (err from indexing).
func (f *file) document(err error) (*Document, error) {
	if err != nil {
		return nil, err
	}
	if f.crypt {
		return nil, &UnsupportedError{What: "encrypted PDF (strings and streams cannot be read)"}
	}
	doc := &Document{Format: FormatPDF, Objects: f.objectCount(), Damaged: f.damaged, Repaired: f.repaired,
		Revisions: len(f.revisions), XRefStream: f.xrefStream}
	head := f.window(0, 1024+16)
	if i := bytes.Index(head[:min(len(head), 1024)], []byte("%PDF-")); i >= 0 {
		v := head[i+5:]
		n := 0
		for n < len(v) && n < 4 && (v[n] == '.' || (v[n] >= '0' && v[n] <= '9')) {
			n++
		}
		doc.PDFVersion = string(v[:n])
	}
	sigs, err := f.signatures()
	if err != nil {
		return nil, err
	}
	doc.Signatures = sigs
	files, cdaIdx, cda, err := f.attachments()
	var ae *AttachmentError
	if err != nil && !errors.As(err, &ae) {
		return nil, err
	}
	doc.EmbeddedFiles, doc.CDA = files, cda
	for _, e := range files {
		doc.Attachments = append(doc.Attachments, e.Name)
	}
	if cdaIdx >= 0 {
		doc.CDAFile = &doc.EmbeddedFiles[cdaIdx]
	}
	return doc, err // with an *AttachmentError, the Document too (without CDA)
}
