package sim

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"strings"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/cda"
	"github.com/fsepuglia/fsepuglia/adapter/codicefiscale"
	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda"
	"github.com/fsepuglia/fsepuglia/adapter/sign"
	"github.com/fsepuglia/fsepuglia/adapter/sim/core"
	"github.com/fsepuglia/fsepuglia/adapter/sim/store"
	"github.com/fsepuglia/fsepuglia/adapter/xades"
	"github.com/fsepuglia/fsepuglia/generated/document"
	"github.com/hooklift/gowsdl/soap"
)

// checkCF validates a fiscal code field, naming the field (never the value) in the fault.
func checkCF(field, cf string) error {
	if cf == "" {
		return fault(CodeInvalid, "%s missing", field)
	}
	if err := codicefiscale.Validate(cf); err != nil {
		return fault(CodeInvalid, "%s is not a valid codice fiscale", field)
	}
	return nil
}

// patientCF returns the bare CF of a patientId, bare or as CF^^^&2.16.840.1.113883.2.9.4.3.2&ISO.
func patientCF(field, id string) (string, error) {
	cf := id
	if i := strings.Index(id, "^^^"); i >= 0 {
		cf = id[:i]
		if rest := id[i+3:]; rest != "&"+cda.OIDFiscalCode+"&ISO" {
			return "", fault(CodeInvalid, "%s has an assigning authority other than the fiscal code's", field)
		}
	}
	if err := checkCF(field, cf); err != nil {
		return "", err
	}
	return cf, nil
}

func xsdTime(t time.Time) soap.XSDDateTime {
	if t.IsZero() {
		return soap.XSDDateTime{}
	}
	return soap.CreateXsdDateTime(t.UTC(), true)
}

// checkedDocument is a publication request that passed every content check. A document
// that arrived as a large text (c.docText) is staged in the store, body nil.
type checkedDocument struct {
	meta   store.DocumentMeta
	body   []byte
	staged *store.Staged
}

// publish stores the checked document (Publish or, with oldID, Replace).
func (s *Server) publish(oldID string, d checkedDocument) (store.DocumentMeta, error) {
	switch {
	case d.staged != nil && oldID == "":
		return s.data.Store.PublishStaged(d.meta, d.staged)
	case d.staged != nil:
		return s.data.Store.ReplaceStaged(oldID, d.meta, d.staged)
	case oldID == "":
		return s.data.Store.Publish(d.meta, bytes.NewReader(d.body))
	}
	return s.data.Store.Replace(oldID, d.meta, bytes.NewReader(d.body))
}

// documentContent returns the document: its bytes from the request's tree or, when the
// document arrived as a large text (c.docText), nil bytes and the document decoded from its
// file into a staged body of the store, opened for reading (the request's base64 and the
// decoded bytes never are in memory).
func (s *Server) documentContent(c *call, d *document.DocumentType) ([]byte, *store.Staged, *os.File, error) {
	if c.docText == nil {
		return []byte(d.Document), nil, nil, nil
	}
	st, err := s.data.Store.Stage(c.docText.decoded())
	if err != nil {
		var ce base64.CorruptInputError
		if errors.As(err, &ce) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, nil, nil, fault(CodeInvalid, "%s not valid: document/document is not base64", c.op)
		}
		return nil, nil, nil, err
	}
	f, err := st.Open()
	if err != nil {
		st.Discard()
		return nil, nil, nil, err
	}
	return nil, st, f, nil
}

// checkDocument applies the publication rules to a document element. As observed for
// addDocument, the request carries the file, a title and the status only: the metadata is
// read from the CDA inside the PDF (docmeta), with the calling structure's profile.
func (s *Server) checkDocument(c *call, d *document.DocumentType) (checkedDocument, error) {
	if d == nil {
		return checkedDocument{}, fault(CodeInvalid, "document missing")
	}
	if strings.TrimSpace(d.DocumentName) == "" {
		return checkedDocument{}, fault(CodeInvalid, "document/documentName missing")
	}
	if d.Status != "" && d.Status != document.DocumentStatusTypeApproved {
		return checkedDocument{}, fault(CodeInvalid, "document/status must be Approved")
	}
	body, staged, file, err := s.documentContent(c, d)
	if err != nil {
		return checkedDocument{}, err
	}
	ok := false
	defer func() {
		if file != nil {
			file.Close()
		}
		if !ok && staged != nil {
			staged.Discard()
		}
	}()
	if len(body) == 0 && (staged == nil || staged.Size() == 0) {
		return checkedDocument{}, fault(CodeInvalid, "document/document missing")
	}
	// The regional service forwards the document to the regional middleware, whose national
	// gateway refuses anything but a PDF with cda.xml (#2717): a p7m is "not a PDF".
	opts := docmeta.Options{Profile: docmeta.Profile{
		StructureCode: c.requester.Structure, RepositoryUniqueID: StructureRepositoryID,
		HealthcareFacilityType: StructureFacilityType, PracticeSettingCode: StructurePractice,
	}}
	var rep *docmeta.Report
	if staged == nil {
		rep = docmeta.InspectBytes(body, d.DocumentName, opts)
	} else if rep, err = docmeta.Inspect(file, staged.Size(), d.DocumentName, opts); err != nil {
		// Inspect reads through the file (io.ReaderAt): its errors are I/O and size.
		if errors.Is(err, docmeta.ErrTooLarge) {
			return checkedDocument{}, fault(CodeInvalid, "document/document larger than docmeta inspects")
		}
		return checkedDocument{}, err
	}
	for _, ch := range rep.Checks {
		if ch.OK {
			continue
		}
		switch ch.ID {
		case docmeta.CheckFormat, docmeta.CheckStructure, docmeta.CheckPDF:
			return checkedDocument{}, refusedNotPDF()
		case docmeta.CheckAttachment, docmeta.CheckCDA:
			return checkedDocument{}, refusedCDAExtraction()
		case docmeta.CheckDocumentID:
			return checkedDocument{}, fault(CodeInvalid, "cda.xml has no id with root and extension")
		case docmeta.CheckTime:
			return checkedDocument{}, fault(CodeInvalid, "cda.xml effectiveTime is missing or not an HL7 time")
		case docmeta.CheckPatientCF:
			if rep.Metadata.PatientCF == "" {
				return checkedDocument{}, fault(CodeInconsistent, "cda.xml has no recordTarget patient id")
			}
			return checkedDocument{}, fault(CodeInvalid, "cda.xml recordTarget patient id is not a valid codice fiscale")
		}
	}
	if err := s.checkCDASignature(body, file, staged); err != nil {
		return checkedDocument{}, err
	}
	m := rep.Metadata
	cf := codicefiscale.Normalize(m.PatientCF)
	if err := c.checkPatient(cf); err != nil {
		return checkedDocument{}, err
	}
	meta := store.DocumentMeta{
		PatientCF:          cf,
		UniqueID:           m.UniqueID,
		RepositoryUniqueID: m.RepositoryUniqueID,
		TypeCode:           m.TypeCode,
		ClassCode:          m.ClassCode,
		FormatCode:         m.FormatCode,
		PracticeSetting:    m.PracticeSettingCode,
		FacilityType:       m.HealthcareFacilityType,
		Confidentiality:    m.ConfidentialityCode,
		CreationTime:       m.CreationTime,
		AuthorInstitution:  store.Institution{Code: m.AuthorInstitutionCode, Name: m.AuthorInstitutionName},
		AuthorPerson:       m.AuthorPerson,
		MimeType:           m.MimeType,
		Hash:               rep.SHA256,
		Title:              m.Title,
		PublishedBy:        c.requester.Structure,
		DocumentName:       d.DocumentName,
	}
	if meta.Confidentiality == "" {
		meta.Confidentiality = "N"
	}
	// The observed body has no event codes: the simulator obscures (P99) a document whose
	// CDA is very restricted (confidentialityCode V). Modelled (adapter/sim/DESIGN.md).
	if meta.Confidentiality == "V" {
		meta.EventCodes = []string{"P99"}
	}
	ok = true
	if staged != nil {
		return checkedDocument{meta: meta, staged: staged}, nil
	}
	return checkedDocument{meta: meta, body: body}, nil
}

// CDAVerifier checks the XML signature a CDA carries. VerifyCDA returns nil when the CDA is
// signed and the signature verifies.
type CDAVerifier interface {
	VerifyCDA(cda []byte) error
}

// XAdESVerifier is the default CDAVerifier: adapter/xades (enveloped XML signatures, every
// reference, XAdES signed properties). With Roots the signer's chain must verify too.
type XAdESVerifier struct {
	Roots *x509.CertPool
	Now   func() time.Time
}

// VerifyCDA implements CDAVerifier.
func (v XAdESVerifier) VerifyCDA(cda []byte) error {
	r, err := xades.Verify(cda, sign.VerifyOptions{Roots: v.Roots, Now: v.Now})
	if err != nil {
		return err
	}
	return r.Err(v.Roots != nil)
}

// checkCDASignature applies the FSE-10001 rule (#1005): the CDA inside the PDF must carry a
// valid XML signature. The document is body, or the staged file.
func (s *Server) checkCDASignature(body []byte, file *os.File, staged *store.Staged) error {
	if !s.opt.RequireSignedCDA {
		return nil
	}
	var doc *pdfcda.Document
	var err error
	if staged != nil {
		doc, err = pdfcda.ReadAt(file, staged.Size(), pdfcda.Limits{}) // in windows, never whole
	} else {
		doc, err = pdfcda.Read(body, pdfcda.Limits{})
	}
	if err != nil || doc.CDA == nil {
		return refusedCDAExtraction()
	}
	v := s.opt.CDAVerifier
	if v == nil {
		v = XAdESVerifier{Now: s.opt.Clock}
	}
	if err := v.VerifyCDA(doc.CDA); err != nil {
		if errors.Is(err, sign.ErrUnsigned) {
			return &Fault{Code: CodeUnsignedCDA}
		}
		return fault(CodeUnsignedCDA, "the CDA signature does not verify")
	}
	return nil
}

// refusedNotPDF is the national gateway's refusal of a file that is not a PDF, passed
// through by the regional service as observed (#2717).
func refusedNotPDF() *Fault {
	return gatewayRefusal("/msg/document-type", "Il documento non è pdf.", "Il documento non è pdf.", 415, "/multipart-file")
}

// refusedCDAExtraction is the national gateway's refusal of a PDF without a readable
// cda.xml (its answer as seen through Puglia's middleware, #2968; modelled for this path).
func refusedCDAExtraction() *Fault {
	return gatewayRefusal("/msg/cda-element", "Errore in fase di estrazione del CDA.", "Error while extracting CDA from PDF document", 400, "/cda-extraction")
}

// publishError maps a store error of Publish/Replace to a fault.
func publishError(err error) error {
	var dup *store.DuplicateError
	switch {
	case errors.As(err, &dup):
		if dup.SameContent() {
			return fault(CodeDuplicate, "uniqueId already published with the same content")
		}
		return fault(CodeDuplicate, "uniqueId already published with different content")
	case errors.Is(err, store.ErrNotFound):
		return fault(CodeNotFound, "replacedUniqueId unknown, deleted or already replaced")
	case errors.Is(err, store.ErrInvalid):
		return fault(CodeInvalid, "the replacement's patientId differs from the replaced document's")
	}
	var hm *store.HashMismatchError
	if errors.As(err, &hm) {
		return fault(CodeInvalid, "document/metadata/hash differs from the content's SHA-256")
	}
	return err
}

func (s *Server) addDocument(c *call) (any, error) {
	var req document.AddDocument
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	d, err := s.checkDocument(c, req.Document)
	if err != nil {
		return nil, err
	}
	m, err := s.publish("", d)
	if err != nil {
		return nil, publishError(err)
	}
	return &document.AddDocumentResponse{Result: &document.PublicationResultType{
		UniqueId: m.UniqueID, RepositoryUniqueId: m.RepositoryUniqueID, Status: document.DocumentStatusTypeApproved}}, nil
}

func (s *Server) replaceDocument(c *call) (any, error) {
	var req document.ReplaceDocument
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if req.ReplacedUniqueId == "" {
		return nil, fault(CodeInvalid, "replacedUniqueId missing")
	}
	d, err := s.checkDocument(c, req.Document)
	if err != nil {
		return nil, err
	}
	m, err := s.publish(req.ReplacedUniqueId, d)
	if err != nil {
		return nil, publishError(err)
	}
	return &document.ReplaceDocumentResponse{Result: &document.PublicationResultType{
		UniqueId: m.UniqueID, RepositoryUniqueId: m.RepositoryUniqueID, Status: document.DocumentStatusTypeApproved}}, nil
}

func (s *Server) deleteDocument(c *call) (any, error) {
	var req document.DeleteDocument
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if req.UniqueId == "" {
		return nil, fault(CodeInvalid, "uniqueId missing")
	}
	cf, err := patientCF("patientId", req.PatientId)
	if err != nil {
		return nil, err
	}
	if err := c.checkPatient(cf); err != nil {
		return nil, err
	}
	m, err := s.data.Store.Meta(req.UniqueId)
	if err != nil || m.Status == store.StatusDeleted || m.PatientCF != codicefiscale.Normalize(cf) {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		return nil, fault(CodeNotFound, "uniqueId unknown for this patient")
	}
	if err := s.data.Store.Delete(req.UniqueId); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fault(CodeNotFound, "uniqueId unknown for this patient")
		}
		return nil, err
	}
	return &document.DeleteDocumentResponse{Result: &document.PublicationResultType{
		UniqueId: m.UniqueID, RepositoryUniqueId: m.RepositoryUniqueID, Status: document.DocumentStatusTypeDeprecated}}, nil // the contract has no Deleted status
}

// refusal maps a core refusal to its fault.
func refusal(err error) error {
	if dec, ok := core.IsRefused(err); ok {
		return fault(dec.FaultCode(), "%s", dec.Message())
	}
	if errors.Is(err, store.ErrNotFound) {
		return fault(CodeNotFound, "uniqueId unknown")
	}
	if errors.Is(err, store.ErrInvalid) {
		return fault(CodeInvalid, "request not valid")
	}
	return err
}

func (s *Server) searchDocuments(c *call) (any, error) {
	var req document.SearchDocuments
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	cf, err := patientCF("patientId", req.PatientId)
	if err != nil {
		return nil, err
	}
	if err := c.checkPatient(cf); err != nil {
		return nil, err
	}
	if req.Offset < 0 || req.Limit < 0 {
		return nil, fault(CodeInvalid, "offset and limit must not be negative")
	}
	f := store.Filter{PatientCF: codicefiscale.Normalize(cf), From: req.DateFrom.ToGoTime(), To: req.DateTo.ToGoTime(),
		Status: string(req.Status), AuthorStructure: req.AuthorInstitution}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return nil, fault(CodeInvalid, "dateFrom must be before dateTo")
	}
	_, all, err := s.data.Search(f, c.requester.Structure)
	if err != nil {
		return nil, refusal(err)
	}
	resp := &document.SearchDocumentsResponse{}
	total := 0
	for _, m := range all {
		if !oneOf(m.TypeCode, req.TypeCode) || !oneOf(m.ClassCode, req.ClassCode) {
			continue
		}
		if total >= int(req.Offset) && (req.Limit == 0 || len(resp.Metadata) < int(req.Limit)) {
			resp.Metadata = append(resp.Metadata, metadataOf(m))
		}
		total++
	}
	resp.Total = int32(total)
	return resp, nil
}

func oneOf(v string, set []string) bool {
	if len(set) == 0 {
		return true
	}
	for _, x := range set {
		if x == v {
			return true
		}
	}
	return false
}

// xon formats a structure as an XDS authorInstitution, NAME^^^^^&2.16.840.1.113883.2.9.4.1.3&ISO^^^^CODE
// (the bare code when the name is unknown).
func xon(i store.Institution) string {
	if i.Name == "" {
		return i.Code
	}
	return i.Name + "^^^^^&2.16.840.1.113883.2.9.4.1.3&ISO^^^^" + i.Code
}

// metadataOf maps stored metadata to the wire.
func metadataOf(m store.DocumentMeta) *document.DocumentMetadataType {
	return &document.DocumentMetadataType{
		PatientId:                  m.PatientCF + "^^^&" + cda.OIDFiscalCode + "&ISO",
		UniqueId:                   m.UniqueID,
		RepositoryUniqueId:         m.RepositoryUniqueID,
		TypeCode:                   m.TypeCode,
		ClassCode:                  m.ClassCode,
		FormatCode:                 m.FormatCode,
		PracticeSettingCode:        m.PracticeSetting,
		HealthcareFacilityTypeCode: m.FacilityType,
		ConfidentialityCode:        m.Confidentiality,
		EventCodeList:              m.EventCodes,
		ServiceStartTime:           xsdTime(m.ServiceStart),
		ServiceStopTime:            xsdTime(m.ServiceStop),
		AuthorInstitution:          xon(m.AuthorInstitution),
		AuthorPerson:               m.AuthorPerson,
		AdministrativeRequest:      m.AdministrativeRequest,
		MimeType:                   m.MimeType,
		Hash:                       document.Sha256HexType(m.Hash),
		Size:                       m.Size,
		CreationTime:               xsdTime(m.CreationTime),
		Title:                      m.Title,
		Status:                     document.DocumentStatusType(m.Status),
	}
}

func (s *Server) retrieveDocument(c *call) (any, error) {
	var req document.RetrieveDocument
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if req.UniqueId == "" {
		return nil, fault(CodeInvalid, "uniqueId missing")
	}
	m, body, err := s.data.Retrieve(req.UniqueId, c.requester.Structure)
	if err != nil {
		return nil, refusal(err)
	}
	keep := false // the answer closes the body once it is sent
	defer func() {
		if !keep {
			body.Close()
		}
	}()
	if err := c.checkPatient(m.PatientCF); err != nil {
		return nil, err
	}
	// The answer streams the stored file's base64 (streamedResponse): the document is never
	// held in memory.
	f, ok := body.(*os.File)
	if !ok {
		return nil, errors.New("retrieve: the store's body is not a file")
	}
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	ph := newPlaceholder()
	resp := &document.RetrieveDocumentResponse{Metadata: metadataOf(m), Document: &document.DocumentType{
		Document: ph, DocumentName: m.DocumentName, Status: document.DocumentStatusType(m.Status)}}
	keep = true
	return &streamedResponse{resp: resp, placeholder: ph, file: f, size: st.Size()}, nil
}
