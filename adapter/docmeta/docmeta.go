// Package docmeta inspects a document before publication: it reads it (pdfcda), parses its
// CDA header (cda), derives the publication metadata from the header, the exact bytes and a
// per-structure Profile, applies explicit Overrides, and runs the pre-flight checks the
// region would otherwise answer with a fault.
//
// One call does all of it: Inspect (or InspectFile, InspectBytes) returns a Report whose JSON
// field names are stable (the CLI prints it as is) and whose Err method returns a
// *CheckError listing every failed check, or nil.
//
// Reports hold the patient's fiscal code (it is the point of the metadata) but never person
// names; CheckError's message leaves out the values of checks on personal data, so it can
// be logged.
package docmeta

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/cades"
	"github.com/fsepuglia/fsepuglia/adapter/cda"
	"github.com/fsepuglia/fsepuglia/adapter/codicefiscale"
	"github.com/fsepuglia/fsepuglia/adapter/pades"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda"
	"github.com/fsepuglia/fsepuglia/adapter/sign"
	"github.com/fsepuglia/fsepuglia/adapter/xades"
	"github.com/fsepuglia/fsepuglia/adapter/xds"
)

// Profile is what a structure configures once and the document cannot tell.
type Profile struct {
	// StructureName and StructureCode identify the producing structure (author institution);
	// when empty they are taken from the CDA custodian.
	StructureName string `json:"structure_name,omitempty"`
	StructureCode string `json:"structure_code,omitempty"`
	// HealthcareFacilityType is one of FacilityTypes().
	HealthcareFacilityType string `json:"healthcare_facility_type,omitempty"`
	// PracticeSettingCode is AD_PSC001 … AD_PSC131, AD_PSC199 or AD_PSC999.
	PracticeSettingCode string `json:"practice_setting_code,omitempty"`
	// RepositoryUniqueID is the repository's OID (2.16.840.1.113883.2.9.2.160.4.5.…).
	RepositoryUniqueID string `json:"repository_unique_id,omitempty"`
	// Types extends or replaces entries of the typeCode → classCode table.
	Types map[string]TypeInfo `json:"types,omitempty"`
}

// Metadata is the publication metadata of one document: the same type the adapter sends
// (docmeta derives every field but the event codes, service times, administrative request
// and status).
type Metadata = xds.Metadata

// Overrides replace derived values; empty (zero) fields leave the derived value. Hash, Size
// and MimeType describe the bytes and cannot be overridden.
type Overrides struct {
	PatientCF              string
	UniqueID               string
	RepositoryUniqueID     string
	TypeCode               string
	ClassCode              string
	FormatCode             string
	PracticeSettingCode    string
	HealthcareFacilityType string
	ConfidentialityCode    string
	AuthorInstitutionCode  string
	AuthorInstitutionName  string
	AuthorPerson           string
	CreationTime           time.Time
	Title                  string
	LanguageCode           string
	DocumentName           string
}

// Options configures Inspect.
type Options struct {
	// Profile is the structure's profile.
	Profile Profile
	// Overrides replace derived metadata (command-line flags).
	Overrides Overrides
	// PatientCF, when set, is the patient the caller means to publish for: the document's
	// patient must be the same.
	PatientCF string
	// RequireSignature fails documents without a PAdES signature dictionary.
	RequireSignature bool
	// Strict requires the document id root to be under Regione Puglia's OID (OIDRegion).
	Strict bool
	// AllowXML accepts a bare CDA XML (text/xml) instead of a PDF; the region refuses
	// anything but PDF ("Il documento non è pdf"), so it is off by default.
	AllowXML bool
	// AllowP7M accepts a CAdES envelope (.p7m, application/pkcs7-mime) around a PDF or a
	// CDA XML, as older producers send; the envelope counts as a signature. Off by default:
	// the bytes sent are then not a PDF.
	AllowP7M bool
	// Location is the zone of CDA times written without an offset (cda.Rome, Europe/Rome,
	// when nil).
	Location *time.Location
	// Repairable reads a PDF whose structure is broken (no startxref/%%EOF, a
	// cross-reference that does not resolve, wrong stream lengths) by scanning it for
	// objects, as viewers do; CheckStructure then passes and says what was repaired. Off by
	// default: the region's validators read the file strictly, and a repaired reading may
	// not be what the producer meant.
	Repairable bool
	// VerifySignatures verifies what is signed: each PDF signature (adapter/pades), a .p7m
	// envelope (adapter/cades) and the CDA's enveloped XML signature (adapter/xades); the
	// results are Report.PAdES, Report.CAdESSignature and Report.CDASignature. With
	// RequireSignature a signature must then also verify (check signature.valid).
	VerifySignatures bool
	// RequireCDASignature fails a CDA without a valid enveloped XML signature (check
	// cda.signature): the legacy services answer FSE-10001.
	RequireCDASignature bool
	// Trust are the roots (and clock) for signer certificates (Result.Trusted). An
	// untrusted signer fails no check: the region's refusals are about integrity.
	Trust sign.VerifyOptions
	// MaxSize caps the document size (default 100 MiB).
	MaxSize int64
	// Limits caps the PDF reader.
	Limits pdfcda.Limits
}

// Check is the outcome of one pre-flight check.
type Check struct {
	// ID names the check (one of the Check* constants).
	ID string `json:"id"`
	// Field is the metadata field or document part checked.
	Field string `json:"field"`
	// Found is what the document holds, Expected what would pass.
	Found    string `json:"found,omitempty"`
	Expected string `json:"expected,omitempty"`
	// Message explains the outcome.
	Message string `json:"message"`
	// Fix says what to do about a failure.
	Fix string `json:"fix,omitempty"`
	// OK is true when the check passed.
	OK bool `json:"ok"`
	// FaultCode is the FSE fault the region (and the simulator) answers for this failure.
	FaultCode string `json:"fault_code,omitempty"`
	// Personal marks Found/Expected as personal data (a fiscal code): CheckError omits them.
	Personal bool `json:"personal,omitempty"`
}

// The check IDs.
const (
	CheckFormat         = "format"             // the file is a PDF (or XML when allowed)
	CheckStructure      = "pdf.structure"      // startxref, cross-reference, trailer and %%EOF resolve
	CheckPDF            = "pdf.readable"       // the PDF can be read
	CheckAttachment     = "cda.attachment"     // the PDF embeds cda.xml
	CheckCDA            = "cda.wellformed"     // cda.xml is well-formed HL7 v3 ClinicalDocument
	CheckDocumentID     = "document.id"        // the document id has root and extension
	CheckTime           = "document.time"      // effectiveTime is a valid HL7 time (the creation time)
	CheckRegion         = "document.id.region" // strict: the id root is under Puglia's OID
	CheckPatientCF      = "patient.cf"         // the patient CF is valid
	CheckPatient        = "patient.match"      // the patient is the requested one
	CheckType           = "type.known"         // the typeCode is a known LOINC document type
	CheckClass          = "type.class"         // the classCode is consistent with the type
	CheckSignature      = "signature"          // the PDF is PAdES-signed when required
	CheckSignatureValid = "signature.valid"    // a required signature verifies over the whole file
	CheckCDASignature   = "cda.signature"      // the CDA carries a valid XML signature when required
	CheckProfile        = "profile"            // the profile's codes are in their value sets
)

// Report is everything Inspect found, derived and checked.
type Report struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Format is pdf, xml or p7m; InnerFormat the format inside a p7m.
	Format      pdfcda.Format `json:"format,omitempty"`
	InnerFormat pdfcda.Format `json:"inner_format,omitempty"`
	PDFVersion  string        `json:"pdf_version,omitempty"`
	Attachments []string      `json:"attachments,omitempty"`
	// CDAFile describes the cda.xml attachment (file specification and stream entries).
	CDAFile *pdfcda.EmbeddedFile `json:"cda_file,omitempty"`
	CDASize int                  `json:"cda_size,omitempty"`
	// Revisions counts the PDF's revisions (1 + incremental updates); Repaired says what
	// Options.Repairable had to repair.
	Revisions int    `json:"revisions,omitempty"`
	Repaired  string `json:"repaired,omitempty"`
	// Signed is true when at least one PDF signature dictionary was found, or the document
	// came in a CAdES envelope (CAdES true). No signature is verified.
	Signed     bool               `json:"signed"`
	CAdES      bool               `json:"cades,omitempty"`
	Signatures []pdfcda.Signature `json:"signatures,omitempty"`
	// PAdES, CAdESSignature and CDASignature are the verifications of the PDF signatures,
	// of the .p7m envelope and of the CDA's XML signature (Options.VerifySignatures; a CDA
	// without signature has none).
	PAdES          []pades.Signature `json:"pades,omitempty"`
	CAdESSignature *sign.Result      `json:"cades_signature,omitempty"`
	CDASignature   *sign.Result      `json:"cda_signature,omitempty"`
	Header         *cda.Header       `json:"cda_header,omitempty"`
	Metadata       Metadata          `json:"metadata"`
	Checks         []Check           `json:"checks"`
}

// CheckError lists the failed checks of a Report.
type CheckError struct {
	Failed []Check
}

// Error implements error; values of personal checks are left out.
func (e *CheckError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "docmeta: %d pre-flight check(s) failed", len(e.Failed))
	for _, c := range e.Failed {
		fmt.Fprintf(&b, "; %s (%s): %s", c.ID, c.Field, c.Message)
		if !c.Personal && (c.Found != "" || c.Expected != "") {
			fmt.Fprintf(&b, " [found %q, expected %s]", c.Found, c.Expected)
		}
		if c.Fix != "" {
			fmt.Fprintf(&b, " - fix: %s", c.Fix)
		}
	}
	return b.String()
}

// Has reports whether the check with this ID failed.
func (e *CheckError) Has(id string) bool {
	for _, c := range e.Failed {
		if c.ID == id {
			return true
		}
	}
	return false
}

// Err returns a *CheckError listing the failed checks, or nil when all passed.
func (r *Report) Err() error {
	var failed []Check
	for _, c := range r.Checks {
		if !c.OK {
			failed = append(failed, c)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return &CheckError{Failed: failed}
}

// Check returns the check with this ID and whether it ran.
func (r *Report) Check(id string) (Check, bool) {
	for _, c := range r.Checks {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}

// ErrTooLarge is returned for a document larger than Options.MaxSize.
var ErrTooLarge = errors.New("docmeta: document too large")

// InspectFile inspects the file at path, as Inspect does (it is not read into memory); the
// report's Name is its base name. A file whose size or modification time changed while it
// was inspected is an error: its metadata and its hash could describe different bytes.
func InspectFile(path string, opts Options) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("docmeta: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("docmeta: %w", err)
	}
	name := path
	if i := strings.LastIndexAny(path, `/\`); i >= 0 {
		name = path[i+1:]
	}
	rep, err := Inspect(f, st.Size(), name, opts)
	if err != nil {
		return nil, err
	}
	if now, err := f.Stat(); err != nil || now.Size() != st.Size() || !now.ModTime().Equal(st.ModTime()) {
		return nil, fmt.Errorf("docmeta: %s changed while it was inspected: inspect it again once it is complete", path)
	}
	return rep, nil
}

// Inspect inspects the size bytes of r (an *os.File) without reading them into memory: the
// SHA-256 is computed over them as they are read, a PDF is read through its
// cross-reference (pdfcda.ReadAt: the objects, not the streams it does not need) and its
// signatures are verified over their ranges as they are read (pades.VerifySignaturesAt).
// A bare XML or a p7m envelope is read whole (the CDA is the file, or inside it), and so is
// a PDF that Options.Repairable has to scan. The error is only for I/O failures and
// oversize input: problems of the document are failed checks.
func Inspect(r io.ReaderAt, size int64, name string, opts Options) (*Report, error) {
	max := opts.MaxSize
	if max <= 0 {
		max = 100 << 20
	}
	if size < 0 || size > max {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, size, max)
	}
	return inspect(r, size, nil, name, opts)
}

// InspectBytes inspects data, the exact bytes that would be sent, as Inspect inspects a
// file (the same code, over a bytes.Reader). It keeps no reference to data after it returns.
func InspectBytes(data []byte, name string, opts Options) *Report {
	r, err := inspect(bytes.NewReader(data), int64(len(data)), data, name, opts)
	if err != nil { // bytes in memory cannot fail to read
		panic(err)
	}
	return r
}

// hashBufs are inspect's read buffers for the SHA-256: a batch inspects thousands of files,
// and a new 64 KiB buffer each was a third of its garbage (issue 13).
var hashBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// inspect inspects the size bytes of src; data, when not nil, is the same bytes in memory.
func inspect(src io.ReaderAt, size int64, data []byte, name string, opts Options) (*Report, error) {
	readErr := func(err error) error { return fmt.Errorf("docmeta: read %s: %w", name, err) }
	sum := sha256.New()
	buf := hashBufs.Get().(*[]byte)
	n, err := io.CopyBuffer(sum, io.NewSectionReader(src, 0, size), *buf)
	hashBufs.Put(buf)
	if err != nil || n != size {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, readErr(err)
	}
	r := &Report{Name: name, Size: size, SHA256: hex.EncodeToString(sum.Sum(nil))}
	r.Metadata.Hash, r.Metadata.Size, r.Metadata.DocumentName = r.SHA256, r.Size, name

	head := data[:min(len(data), 1024)]
	if data == nil {
		head = make([]byte, min(size, 1024))
		if _, err := src.ReadAt(head, 0); err != nil && len(head) > 0 && !errors.Is(err, io.EOF) {
			return nil, readErr(err)
		}
		if !bytes.HasPrefix(head, []byte("%PDF-")) {
			// Not a PDF as PDFs start: XML or p7m (or unknown), read whole.
			data = make([]byte, size)
			if _, err := src.ReadAt(data, 0); err != nil && !(errors.Is(err, io.EOF) && size == 0) {
				return nil, readErr(err)
			}
			src, head = bytes.NewReader(data), data[:min(len(data), 1024)]
		}
	}
	read := pdfcda.ReadAt
	if opts.Repairable {
		read = pdfcda.ReadRepairAt
	}
	doc, err := read(src, size, opts.Limits)
	var re *pdfcda.ReadError
	if errors.As(err, &re) {
		return nil, readErr(err)
	}
	format := pdfcda.Detect(head)
	if data != nil {
		format = pdfcda.Detect(data)
	}
	inner := format
	if doc != nil {
		inner = doc.Format
		if doc.Inner != "" {
			inner = doc.Inner
		}
	}
	switch {
	case format == pdfcda.FormatPDF:
		r.Metadata.MimeType = "application/pdf"
		r.pass(CheckFormat, "mimeType", string(format), "a PDF")
	case format == pdfcda.FormatP7M && opts.AllowP7M:
		r.Metadata.MimeType = "application/pkcs7-mime"
		found := "p7m"
		if doc != nil {
			found += " with " + string(inner)
		}
		r.pass(CheckFormat, "mimeType", found, "a PDF or, as allowed, a CAdES envelope")
	case inner == pdfcda.FormatXML && opts.AllowXML:
		r.Metadata.MimeType = "text/xml"
		r.pass(CheckFormat, "mimeType", string(format), "a PDF or, as allowed, a CDA XML")
	default:
		found := string(format)
		if found == "" {
			found = "unknown (" + sniff(head) + ")"
		} else if format == pdfcda.FormatP7M && doc != nil {
			found = "p7m with " + string(inner)
		}
		r.fail(Check{ID: CheckFormat, Field: "mimeType", Found: found, Expected: "application/pdf", Message: "the document is not a PDF (Il documento non è pdf)", FaultCode: "FSE-00415",
			Fix: "publish the PDF with the CDA embedded as cda.xml (fsepuglia inject), not the file itself"})
		return r, nil
	}
	var se *pdfcda.StructureError
	var ae *pdfcda.AttachmentError
	attachErr := errors.As(err, &ae)
	dupFail := func() {
		r.fail(Check{ID: CheckAttachment, Field: "cda.xml", Found: ae.Msg, Expected: `exactly one embedded file named "cda.xml" with its file stream`,
			Message: "the PDF does not embed exactly one readable cda.xml", FaultCode: "FSE-00422",
			Fix: "embed exactly one CDA, as cda.xml (fsepuglia inject), and remove any other attachment of that name"})
	}
	switch {
	case errors.As(err, &se):
		r.fail(Check{ID: CheckStructure, Field: se.Part, Found: se.Msg, Expected: "startxref pointing at a cross-reference section, every object where it says, a trailer with /Root, %%EOF at the end",
			Message: "the PDF's file structure is broken (truncated or damaged): it cannot be read without guessing", FaultCode: "FSE-00415",
			Fix: "export or save the PDF again from the producing software (or rebuild it, e.g. `qpdf broken.pdf fixed.pdf`) and sign it again; --repairable only reads it anyway"})
		return r, nil
	case attachErr && doc == nil:
		dupFail()
		return r, nil
	case format == pdfcda.FormatP7M && err != nil && !attachErr:
		r.fail(Check{ID: CheckPDF, Field: "document", Found: err.Error(), Expected: "a CAdES envelope with content", Message: "the p7m envelope cannot be read", FaultCode: "FSE-00415",
			Fix: "sign the document again as an enveloping (attached) CAdES .p7m, or publish the signed PDF instead"})
		return r, nil
	case err != nil && !attachErr:
		r.fail(Check{ID: CheckPDF, Field: "document", Found: err.Error(), Expected: "a readable PDF", Message: "the PDF cannot be read", FaultCode: "FSE-00415",
			Fix: "export the PDF again without encryption, with Flate-compressed or uncompressed streams"})
		return r, nil
	}
	if format == pdfcda.FormatPDF || inner == pdfcda.FormatPDF {
		if doc.Repaired != "" {
			c := Check{ID: CheckStructure, Field: "document", Found: doc.Repaired, Expected: "a sound file structure", OK: true,
				Message: fmt.Sprintf("damaged, read by scanning because --repairable was given (%d damaged object header(s) skipped)", doc.Damaged)}
			r.Checks = append(r.Checks, c)
		} else {
			r.pass(CheckStructure, "document", fmt.Sprintf("%d revision(s)", doc.Revisions), "startxref, cross-reference, trailer and %%EOF that resolve")
		}
		r.pass(CheckPDF, "document", fmt.Sprintf("%d objects", doc.Objects), "a readable PDF")
	}
	r.Format, r.PDFVersion, r.Attachments, r.Signatures = doc.Format, doc.PDFVersion, doc.Attachments, doc.Signatures
	r.CDAFile, r.Revisions, r.Repaired = doc.CDAFile, doc.Revisions, doc.Repaired
	if doc.Inner != "" {
		r.InnerFormat = doc.Inner
	}
	r.CAdES = doc.Format == pdfcda.FormatP7M
	r.Signed = len(doc.Signatures) > 0 || r.CAdES
	if opts.RequireSignature {
		switch {
		case len(doc.Signatures) > 0:
			r.pass(CheckSignature, "signature", fmt.Sprintf("%d signature(s)", len(doc.Signatures)), "a PAdES signature")
		case r.CAdES:
			r.pass(CheckSignature, "signature", "CAdES envelope (not verified)", "a PAdES signature or, as allowed, a CAdES envelope")
		default:
			found := "no signature dictionary"
			r.fail(Check{ID: CheckSignature, Field: "signature", Found: found, Expected: "a PAdES signature (/ByteRange and /Contents)", Message: "the PDF is not signed and a signature is required", FaultCode: "FSE-00422",
				Fix: "sign the PDF (PAdES, fsepuglia sign --pdf) after embedding the CDA"})
		}
	}

	if opts.VerifySignatures {
		r.verifySignatures(src, size, data, doc, opts)
	}

	if attachErr {
		dupFail()
		return r, nil
	}
	if doc.CDA == nil {
		r.fail(Check{ID: CheckAttachment, Field: "cda.xml", Found: foundAttachments(doc.Attachments), Expected: `an embedded file named exactly "cda.xml"`, Message: "the PDF does not embed the CDA as cda.xml", FaultCode: "FSE-00422",
			Fix: "embed the CDA as an attachment named exactly cda.xml (fsepuglia inject CDA.xml --pdf BASE.pdf)"})
		return r, nil
	}
	r.CDASize = len(doc.CDA)
	if doc.Format == pdfcda.FormatPDF || inner == pdfcda.FormatPDF {
		r.pass(CheckAttachment, "cda.xml", fmt.Sprintf("%d bytes", len(doc.CDA)), "cda.xml")
	}
	h, err := cda.ParseHeader(bytes.NewReader(doc.CDA), cda.Limits{})
	if err != nil {
		c := Check{ID: CheckCDA, Field: "cda.xml", Expected: "a well-formed {urn:hl7-org:v3}ClinicalDocument", Message: err.Error(), FaultCode: "FSE-00422"}
		var nc *cda.NotCDAError
		var lim *cda.LimitError
		switch {
		case errors.As(err, &nc):
			c.Found = "{" + nc.Namespace + "}" + nc.Local
			c.Fix = "embed an HL7 CDA R2 document: root ClinicalDocument in the namespace urn:hl7-org:v3"
		case errors.As(err, &lim):
			c.Found = "beyond the reader's limits"
			c.Fix = "check the CDA: it is nested or long far beyond any clinical document"
		default:
			c.Found = "not well-formed XML"
			c.Fix = "export the CDA again from the producing software (check it with xmllint --noout cda.xml) and embed it again"
		}
		r.fail(c)
		return r, nil
	}
	r.pass(CheckCDA, "cda.xml", "{urn:hl7-org:v3}ClinicalDocument", "an HL7 v3 ClinicalDocument")
	if opts.VerifySignatures || opts.RequireCDASignature {
		r.verifyCDASignature(doc.CDA, opts)
	}
	r.Header = h
	r.derive(h, opts)
	r.check(h, opts)
	return r, nil
}

// verifySignatures fills r.PAdES and r.CAdESSignature and, with RequireSignature, checks
// that one of them verifies (the PDF's over the whole file). The PDF is src (size bytes),
// or the content of a p7m envelope, data (read whole); the error is a read error.
func (r *Report) verifySignatures(src io.ReaderAt, size int64, data []byte, doc *pdfcda.Document, opts Options) {
	pdf, pdfSize := src, size
	if r.CAdES {
		res, content, err := cades.Verify(data, opts.Trust)
		if res == nil {
			res = &sign.Result{Format: sign.FormatCAdES}
			res.Problem(err.Error())
		}
		r.CAdESSignature, pdf, pdfSize = res, nil, int64(len(content))
		if content != nil {
			pdf = bytes.NewReader(content)
		}
	}
	if len(doc.Signatures) > 0 && pdf != nil {
		// A read error while hashing is a problem of the signature ("cannot be read").
		r.PAdES, _ = pades.VerifySignaturesAt(pdf, pdfSize, doc.Signatures, opts.Trust)
	}
	if !opts.RequireSignature || !r.Signed {
		return
	}
	for _, s := range r.PAdES {
		if s.Valid && s.CoversWholeFile {
			r.pass(CheckSignatureValid, "signature", fmt.Sprintf("%s %s by %s", s.Format, s.Algorithm, s.SignerName), "a signature that verifies over the whole file")
			return
		}
	}
	if c := r.CAdESSignature; c != nil && c.Valid {
		r.pass(CheckSignatureValid, "signature", fmt.Sprintf("%s %s by %s", c.Format, c.Algorithm, c.SignerName), "a signature that verifies")
		return
	}
	found := "no signature verifies"
	if n := len(r.PAdES); n > 0 && len(r.PAdES[n-1].Problems) > 0 {
		found = r.PAdES[n-1].Problems[0]
	} else if r.CAdESSignature != nil && len(r.CAdESSignature.Problems) > 0 {
		found = r.CAdESSignature.Problems[0]
	}
	r.fail(Check{ID: CheckSignatureValid, Field: "signature", Found: found, Expected: "a PAdES signature that verifies over the whole file",
		Message: "the document's signature does not verify: the gateway refuses it at publication", FaultCode: "/msg/sign-error",
		Fix: "sign the final PDF again (fsepuglia sign --pdf), after the last change to it"})
}

// verifyCDASignature fills r.CDASignature and, with RequireCDASignature, checks it.
func (r *Report) verifyCDASignature(cdaXML []byte, opts Options) {
	res, err := xades.Verify(cdaXML, opts.Trust)
	if res != nil {
		r.CDASignature = res
	}
	if !opts.RequireCDASignature {
		return
	}
	if err == nil {
		r.pass(CheckCDASignature, "cda.xml", fmt.Sprintf("%s %s by %s", res.Format, res.Algorithm, res.SignerName), "an enveloped XAdES-BES signature that verifies")
		return
	}
	found := "no XML signature"
	if res != nil && len(res.Problems) > 0 {
		found = res.Problems[0]
	} else if !errors.Is(err, sign.ErrUnsigned) {
		found = err.Error()
	}
	r.fail(Check{ID: CheckCDASignature, Field: "cda.xml", Found: found, Expected: "an enveloped XAdES-BES signature that verifies",
		Message: "the CDA is not validly signed (Il documento CDA non e' firmato digitalmente)", FaultCode: "FSE-10001",
		Fix: "sign the CDA (fsepuglia sign --cda CDA.xml), then inject it (fsepuglia inject) and sign the PDF"})
}

func (r *Report) pass(id, field, found, expected string) {
	r.Checks = append(r.Checks, Check{ID: id, Field: field, Found: found, Expected: expected, Message: "ok", OK: true})
}

func (r *Report) fail(c Check) { r.Checks = append(r.Checks, c) }

func sniff(data []byte) string {
	n := min(len(data), 8)
	s := make([]byte, 0, n)
	for _, c := range data[:n] {
		if c < 0x20 || c > 0x7e {
			c = '.'
		}
		s = append(s, c)
	}
	return fmt.Sprintf("starts with %q", s)
}

func foundAttachments(names []string) string {
	if len(names) == 0 {
		return "no embedded files"
	}
	return "embedded files: " + strings.Join(names, ", ")
}

// types merges the profile's table over the built-in one.
func types(p Profile, code string) (TypeInfo, bool) {
	if t, ok := p.Types[code]; ok {
		return t, true
	}
	t, ok := typeTable[code]
	return t, ok
}

// derive fills the metadata from the header, the profile and the overrides.
func (r *Report) derive(h *cda.Header, opts Options) {
	m := &r.Metadata
	if id, ok := h.PatientID(); ok {
		m.PatientCF = id.Extension
	}
	if h.ID.Root != "" {
		m.UniqueID = h.ID.String()
	}
	m.TypeCode = h.Code.Code
	if t, ok := types(opts.Profile, m.TypeCode); ok && len(t.Classes) > 0 {
		m.ClassCode = t.Classes[0]
	}
	for _, t := range h.TemplateIDs {
		if strings.HasPrefix(t.Root, "2.16.840.1.113883.2.9.10.1.") {
			m.FormatCode = t.Root
			break
		}
	}
	if m.FormatCode == "" && len(h.TemplateIDs) > 0 {
		m.FormatCode = h.TemplateIDs[0].Root
	}
	m.ConfidentialityCode = h.ConfidentialityCode.Code
	m.LanguageCode = h.LanguageCode
	// title is required on the wire; many CDAs (LDO among the samples) have none in the
	// header: fall back to the document type's display name, then the type table's name.
	m.Title = strings.TrimSpace(h.Title)
	if m.Title == "" {
		m.Title = strings.TrimSpace(h.Code.DisplayName)
	}
	if m.Title == "" {
		if t, ok := types(opts.Profile, m.TypeCode); ok {
			m.Title = t.Display
		}
	}
	if h.EffectiveTime != "" {
		if t, err := cda.ParseTime(h.EffectiveTime, opts.Location); err == nil {
			m.CreationTime = t.UTC()
		}
	} // an unreadable or missing time leaves CreationTime zero: CheckTime fails it
	if h.Author != nil {
		for _, id := range h.Author.IDs {
			if id.Root == cda.OIDFiscalCode {
				m.AuthorPerson = id.Extension
				break
			}
		}
	}
	m.AuthorInstitutionCode, m.AuthorInstitutionName = opts.Profile.StructureCode, opts.Profile.StructureName
	if c := h.Custodian; c != nil {
		if m.AuthorInstitutionCode == "" && len(c.IDs) > 0 {
			m.AuthorInstitutionCode = c.IDs[0].Extension
		}
		if m.AuthorInstitutionName == "" {
			m.AuthorInstitutionName = c.Name
		}
	}
	m.HealthcareFacilityType = opts.Profile.HealthcareFacilityType
	m.PracticeSettingCode = opts.Profile.PracticeSettingCode
	m.RepositoryUniqueID = opts.Profile.RepositoryUniqueID

	o := opts.Overrides
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&m.PatientCF, o.PatientCF)
	set(&m.UniqueID, o.UniqueID)
	set(&m.RepositoryUniqueID, o.RepositoryUniqueID)
	set(&m.TypeCode, o.TypeCode)
	if o.TypeCode != "" && o.ClassCode == "" {
		if t, ok := types(opts.Profile, o.TypeCode); ok && len(t.Classes) > 0 {
			m.ClassCode = t.Classes[0]
		}
	}
	set(&m.ClassCode, o.ClassCode)
	set(&m.FormatCode, o.FormatCode)
	set(&m.PracticeSettingCode, o.PracticeSettingCode)
	set(&m.HealthcareFacilityType, o.HealthcareFacilityType)
	set(&m.ConfidentialityCode, o.ConfidentialityCode)
	set(&m.AuthorInstitutionCode, o.AuthorInstitutionCode)
	set(&m.AuthorInstitutionName, o.AuthorInstitutionName)
	set(&m.AuthorPerson, o.AuthorPerson)
	set(&m.Title, o.Title)
	set(&m.LanguageCode, o.LanguageCode)
	set(&m.DocumentName, o.DocumentName)
	if !o.CreationTime.IsZero() {
		m.CreationTime = o.CreationTime.UTC()
	}
}

var practiceSetting = regexp.MustCompile(`^AD_PSC(0\d\d|1[0-2]\d|13[01]|199|999)$`)

// check runs the metadata checks on the derived (and overridden) metadata.
func (r *Report) check(h *cda.Header, opts Options) {
	m := &r.Metadata

	// Document id.
	if root, ext, _ := strings.Cut(m.UniqueID, "^"); root == "" || ext == "" {
		r.fail(Check{ID: CheckDocumentID, Field: "uniqueId", Found: m.UniqueID, Expected: "ClinicalDocument/id with @root and @extension", Message: "the document id is missing or incomplete", FaultCode: "FSE-00400", Fix: "give ClinicalDocument/id both @root (the structure's OID) and @extension (the document's number), or pass --unique-id"})
	} else {
		r.pass(CheckDocumentID, "uniqueId", m.UniqueID, "root^extension")
	}
	// Creation time: ClinicalDocument/effectiveTime, never silently replaced.
	_, terr := cda.ParseTime(h.EffectiveTime, opts.Location)
	switch {
	case !opts.Overrides.CreationTime.IsZero():
		msg := "ok (overridden)"
		if terr != nil {
			msg = "ok (overridden; the CDA's own effectiveTime is not valid: " + terr.Error() + ")"
		}
		r.Checks = append(r.Checks, Check{ID: CheckTime, Field: "creationTime", Found: m.CreationTime.Format(time.RFC3339), Expected: "a creation time", Message: msg, OK: true})
	case h.EffectiveTime == "":
		r.fail(Check{ID: CheckTime, Field: "creationTime", Expected: "ClinicalDocument/effectiveTime/@value", Message: "the CDA has no effectiveTime: the creation time is unknown", FaultCode: "FSE-00400",
			Fix: "write ClinicalDocument/effectiveTime value=\"YYYYMMDDHHMMSS+0100\" (the time the document was created)"})
	case terr != nil:
		r.fail(Check{ID: CheckTime, Field: "creationTime", Found: h.EffectiveTime, Expected: "an HL7 time YYYYMMDDHHMMSS[+-HHMM] (without an offset: Italian local time)", Message: "the CDA's effectiveTime cannot be read: " + terr.Error(), FaultCode: "FSE-00400",
			Fix: "write ClinicalDocument/effectiveTime/@value as YYYYMMDDHHMMSS with its offset, e.g. 20260315103000+0100"})
	default:
		r.pass(CheckTime, "creationTime", h.EffectiveTime, m.CreationTime.Format(time.RFC3339))
	}

	if opts.Strict {
		root, _, _ := strings.Cut(m.UniqueID, "^")
		if strings.HasPrefix(root+".", OIDRegion) {
			r.pass(CheckRegion, "uniqueId", root, OIDRegion+"…")
		} else {
			r.fail(Check{ID: CheckRegion, Field: "uniqueId", Found: root, Expected: "a root under " + OIDRegion + " (Regione Puglia)", Message: "the document id root is outside the region's OID", FaultCode: "FSE-00400", Fix: "use an id root under " + OIDRegion + " (the structure's OID in Puglia), or leave --strict out for documents of other regions"})
		}
	}

	// Patient.
	if err := codicefiscale.Validate(m.PatientCF); err != nil {
		msg := "the patient's fiscal code is not valid: "
		var ce *codicefiscale.Error
		if errors.As(err, &ce) {
			msg += fmt.Sprintf("%s at position %d (found %q, expected %s)", ce.Kind, ce.Pos, ce.Found, ce.Expected)
		} else {
			msg += err.Error()
		}
		if m.PatientCF == "" {
			msg = "the CDA has no recordTarget/patientRole/id"
		}
		r.fail(Check{ID: CheckPatientCF, Field: "patientId", Found: m.PatientCF, Expected: "a valid codice fiscale (or STP/ENI code)", Message: msg, FaultCode: "FSE-00400", Personal: true, Fix: "correct recordTarget/patientRole/id/@extension (16 upper-case characters with a valid check letter)"})
	} else {
		c := Check{ID: CheckPatientCF, Field: "patientId", Found: m.PatientCF, Expected: "a valid codice fiscale", Message: "ok", OK: true, Personal: true}
		if id, ok := h.PatientID(); ok && id.Root != cda.OIDFiscalCode {
			c.Message = "ok; note: the patient id root is " + id.Root + ", not the fiscal-code OID " + cda.OIDFiscalCode
		}
		r.Checks = append(r.Checks, c)
	}
	if opts.PatientCF != "" {
		want := codicefiscale.Normalize(opts.PatientCF)
		switch {
		case codicefiscale.Validate(want) != nil:
			r.fail(Check{ID: CheckPatient, Field: "patientId", Found: want, Expected: "a valid requested fiscal code", Message: "the requested patient's fiscal code is not valid", FaultCode: "FSE-00400", Personal: true, Fix: "check the fiscal code given with --patient"})
		case want != m.PatientCF:
			r.fail(Check{ID: CheckPatient, Field: "patientId", Found: m.PatientCF, Expected: want, Message: "the document's patient is not the requested patient", FaultCode: "FSE-00422", Personal: true, Fix: "publish this document for its own patient, or pick the document of the requested one"})
		default:
			r.Checks = append(r.Checks, Check{ID: CheckPatient, Field: "patientId", Found: m.PatientCF, Expected: want, Message: "ok", OK: true, Personal: true})
		}
	}

	// Type and class.
	t, known := types(opts.Profile, m.TypeCode)
	switch {
	case m.TypeCode == "":
		r.fail(Check{ID: CheckType, Field: "typeCode", Expected: "a LOINC document type code", Message: "the CDA has no ClinicalDocument/code", FaultCode: "FSE-00400", Fix: "write ClinicalDocument/code with the LOINC document type, or pass --type-code"})
	case opts.Overrides.TypeCode == "" && h.Code.CodeSystem != OIDLoinc:
		r.fail(Check{ID: CheckType, Field: "typeCode", Found: h.Code.CodeSystem, Expected: "codeSystem " + OIDLoinc + " (LOINC)", Message: "the document code is not a LOINC code", FaultCode: "FSE-00400", Fix: "use codeSystem=\"" + OIDLoinc + "\" and a LOINC document type, or pass --type-code"})
	case !known:
		r.fail(Check{ID: CheckType, Field: "typeCode", Found: m.TypeCode, Expected: "one of the affinity domain's document types", Message: "unknown document type", FaultCode: "FSE-00400", Fix: "use one of the affinity domain's LOINC types (docmeta.Types), or add it to the structure's profile"})
	default:
		r.pass(CheckType, "typeCode", m.TypeCode, t.Display)
	}
	switch {
	case !known && m.ClassCode == "":
		// Nothing to derive from an unknown type: reported once, by CheckType.
	case !contains(classCodes, m.ClassCode):
		r.fail(Check{ID: CheckClass, Field: "classCode", Found: m.ClassCode, Expected: "one of " + strings.Join(classCodes, " "), Message: "unknown or missing class code", FaultCode: "FSE-00400", Fix: "pass a class code of the value set with --class-code, or leave it to be derived from the type"})
	case known && !contains(t.Classes, m.ClassCode):
		r.fail(Check{ID: CheckClass, Field: "classCode", Found: m.ClassCode, Expected: strings.Join(t.Classes, " or ") + " for type " + m.TypeCode, Message: "the class code is inconsistent with the document type", FaultCode: "FSE-00400", Fix: "drop --class-code to derive it from the type, or give one the type allows"})
	case known:
		r.pass(CheckClass, "classCode", m.ClassCode, strings.Join(t.Classes, " or "))
	}

	// Profile value sets (only what is set: an empty value is for the publisher to require).
	var bad []string
	if v := m.HealthcareFacilityType; v != "" && !contains(facilityTypes, v) {
		bad = append(bad, "healthcareFacilityTypeCode "+v+" (expected one of "+strings.Join(facilityTypes, " ")+")")
	}
	if v := m.PracticeSettingCode; v != "" && !practiceSetting.MatchString(v) {
		bad = append(bad, "practiceSettingCode "+v+" (expected AD_PSC001…AD_PSC131, AD_PSC199, AD_PSC999)")
	}
	if v := m.ConfidentialityCode; v != "" && !contains(confidentialityCodes, v) {
		bad = append(bad, "confidentialityCode "+v+" (expected N, R or V)")
	}
	if len(bad) > 0 {
		r.fail(Check{ID: CheckProfile, Field: "metadata", Found: strings.Join(bad, "; "), Expected: "values in the value sets", Message: "metadata outside their value sets", FaultCode: "FSE-00400", Fix: "correct the structure's configuration (facility type, practice setting) or the CDA's confidentialityCode"})
	} else {
		r.pass(CheckProfile, "metadata", "", "values in the value sets")
	}
}
