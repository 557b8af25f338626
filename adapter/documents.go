package adapter

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/hooklift/gowsdl/soap"

	"github.com/fsepuglia/fsepuglia/adapter/internal/filehash"
	"github.com/fsepuglia/fsepuglia/adapter/wssec/saml"
	"github.com/fsepuglia/fsepuglia/generated/document"
)

var (
	opAddDocument      = op("addDocument")
	opReplaceDocument  = op("replaceDocument")
	opDeleteDocument   = op("deleteDocument")
	opSearchDocuments  = op("searchDocuments")
	opRetrieveDocument = op("retrieveDocument")
)

// Publish sends a new document (addDocument). Metadata.Hash and Size are computed from Body
// when empty and checked against it when given.
func (s *DocumentService) Publish(ctx context.Context, req PublishRequest) (*PublishResult, error) {
	doc, patient, err := s.c.documentType(req)
	if err != nil {
		return nil, err
	}
	in := &document.AddDocument{Document: doc.DocumentType}
	var out document.AddDocumentResponse
	id, err := s.c.do(withStream(ctx, doc.stream), opAddDocument, &saml.Attributes{PatientCF: patient, DocumentType: doc.Metadata.TypeCode, TypeOfCare: doc.Metadata.ClassCode},
		func(ctx context.Context, sc *soap.Client) error {
			return into(ctx, &out, in, document.NewIDocument(sc).AddDocumentContext)
		})
	if err != nil {
		return nil, err
	}
	return publishResult(out.Result, req.Metadata.UniqueID, id), nil
}

// Replace publishes req as a new version of the document oldID (replaceDocument).
func (s *DocumentService) Replace(ctx context.Context, oldID string, req PublishRequest) (*PublishResult, error) {
	if strings.TrimSpace(oldID) == "" {
		return nil, &InputError{Field: "replaced unique id", Msg: "is empty", Fix: "give the uniqueId of the published document to replace"}
	}
	doc, patient, err := s.c.documentType(req)
	if err != nil {
		return nil, err
	}
	in := &document.ReplaceDocument{ReplacedUniqueId: oldID, Document: doc.DocumentType}
	var out document.ReplaceDocumentResponse
	id, err := s.c.do(withStream(ctx, doc.stream), opReplaceDocument, &saml.Attributes{PatientCF: patient, DocumentType: doc.Metadata.TypeCode, TypeOfCare: doc.Metadata.ClassCode},
		func(ctx context.Context, sc *soap.Client) error {
			return into(ctx, &out, in, document.NewIDocument(sc).ReplaceDocumentContext)
		})
	if err != nil {
		return nil, err
	}
	return publishResult(out.Result, req.Metadata.UniqueID, id), nil
}

// Delete voids the publication of document id of patientCF (deleteDocument).
func (s *DocumentService) Delete(ctx context.Context, patientCF, id string) error {
	cf, err := checkCF("patient", patientCF)
	if err != nil {
		return err
	}
	if strings.TrimSpace(id) == "" {
		return &InputError{Field: "unique id", Msg: "is empty", Fix: "give the uniqueId of the document to delete"}
	}
	in := &document.DeleteDocument{UniqueId: id, PatientId: patientID(cf)}
	var out document.DeleteDocumentResponse
	_, err = s.c.do(ctx, opDeleteDocument, &saml.Attributes{PatientCF: cf}, func(ctx context.Context, sc *soap.Client) error {
		return into(ctx, &out, in, document.NewIDocument(sc).DeleteDocumentContext)
	})
	return err
}

// Search lists a patient's documents (searchDocuments). Limit 0 means 50.
func (s *DocumentService) Search(ctx context.Context, q SearchQuery) (*SearchResult, error) {
	cf, err := checkCF("patient", q.PatientCF)
	if err != nil {
		return nil, err
	}
	if q.Offset < 0 || q.Limit < 0 {
		return nil, &InputError{Field: "offset/limit", Msg: "must not be negative", Fix: "use offset >= 0 and limit >= 1"}
	}
	if !q.From.IsZero() && !q.To.IsZero() && q.To.Before(q.From) {
		return nil, &InputError{Field: "to", Msg: "is before from", Fix: "give a date range with from <= to"}
	}
	if q.Limit == 0 {
		q.Limit = 50
	}
	in := &document.SearchDocuments{
		PatientId: patientID(cf),
		DateFrom:  xsdDateTime(q.From), DateTo: xsdDateTime(q.To),
		Status: document.DocumentStatusType(q.Status), AuthorInstitution: q.AuthorStructure,
		Offset: int32(q.Offset), Limit: int32(q.Limit),
	}
	if q.TypeCode != "" {
		in.TypeCode = []string{q.TypeCode}
	}
	if q.ClassCode != "" {
		in.ClassCode = []string{q.ClassCode}
	}
	var out document.SearchDocumentsResponse
	_, err = s.c.do(ctx, opSearchDocuments, &saml.Attributes{PatientCF: cf, Consent: true}, func(ctx context.Context, sc *soap.Client) error {
		return into(ctx, &out, in, document.NewIDocument(sc).SearchDocumentsContext)
	})
	if err != nil {
		return nil, err
	}
	res := &SearchResult{Total: int(out.Total), Documents: make([]Metadata, 0, len(out.Metadata))}
	for _, m := range out.Metadata {
		res.Documents = append(res.Documents, metadataFromWire(m))
	}
	return res, nil
}

// Retrieve fetches one document with its file (retrieveDocument).
func (s *DocumentService) Retrieve(ctx context.Context, patientCF, id string) (*Document, error) {
	cf, err := checkCF("patient", patientCF)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(id) == "" {
		return nil, &InputError{Field: "unique id", Msg: "is empty", Fix: "give the uniqueId of the document to retrieve"}
	}
	in := &document.RetrieveDocument{UniqueId: id}
	var out document.RetrieveDocumentResponse
	_, err = s.c.do(ctx, opRetrieveDocument, &saml.Attributes{PatientCF: cf, Consent: true}, func(ctx context.Context, sc *soap.Client) error {
		return into(ctx, &out, in, document.NewIDocument(sc).RetrieveDocumentContext)
	})
	if err != nil {
		return nil, err
	}
	if out.Document == nil || out.Metadata == nil {
		return nil, fmt.Errorf("adapter: retrieveDocument: answer without document")
	}
	d := &Document{Metadata: metadataFromWire(out.Metadata), Body: []byte(out.Document.Document)}
	d.Metadata.DocumentName = out.Document.DocumentName
	return d, nil
}

// wireDocument is a document ready for the wire, with the metadata it was built from.
type wireDocument struct {
	*document.DocumentType
	Metadata Metadata
	stream   *streamDoc // the file to stream in place of Document's placeholder, or nil
}

// documentType validates a PublishRequest and maps it to the wire type. The body is not
// copied: the wire type's Base64Binary shares its bytes.
func (c *Client) documentType(req PublishRequest) (wireDocument, string, error) {
	m := req.Metadata
	cf, err := checkCF("metadata.patient_cf", m.PatientCF)
	if err != nil {
		return wireDocument{}, "", err
	}
	m.PatientCF = cf
	body, size, h := req.Body, int64(len(req.Body)), ""
	if len(body) == 0 && req.Path != "" {
		var err error
		if c.cfg.Security.SignBody {
			body, err = os.ReadFile(req.Path)
			size = int64(len(body))
		} else {
			size, h, err = filehash.File(req.Path)
		}
		if err != nil {
			return wireDocument{}, "", &InputError{Field: "path", Msg: fmt.Sprintf("cannot read the document: %v", errors.Unwrap(err)), Fix: "give a readable file"}
		}
	}
	if size == 0 {
		return wireDocument{}, "", &InputError{Field: "body", Msg: "the document is empty", Fix: "give the signed PDF to publish"}
	}
	required := []struct{ field, v, fix string }{
		{"metadata.unique_id", m.UniqueID, "set the document uniqueId (root^extension of the CDA id)"},
		{"metadata.type_code", m.TypeCode, "set the LOINC type code, e.g. 11502-2"},
		{"metadata.class_code", m.ClassCode, "set the class code, e.g. REF"},
	}
	for _, r := range required {
		if strings.TrimSpace(r.v) == "" {
			return wireDocument{}, "", &InputError{Field: r.field, Msg: "is required", Fix: r.fix}
		}
	}
	if h == "" {
		sum := sha256.Sum256(body)
		h = hex.EncodeToString(sum[:])
	}
	if m.Hash != "" && !strings.EqualFold(m.Hash, h) {
		return wireDocument{}, "", &InputError{Field: "metadata.hash", Value: m.Hash, Msg: "does not match the document's SHA-256 " + h,
			Fix: "leave hash empty to have it computed, or send the exact bytes it was computed on"}
	}
	if m.Size != 0 && m.Size != size {
		return wireDocument{}, "", &InputError{Field: "metadata.size", Value: fmt.Sprint(m.Size), Msg: fmt.Sprintf("does not match the document's %d bytes", size),
			Fix: "leave size empty to have it computed"}
	}
	m.Hash, m.Size = h, size
	if m.RepositoryUniqueID == "" {
		m.RepositoryUniqueID = c.cfg.Structure.RepositoryID
	}
	if m.HealthcareFacilityType == "" {
		m.HealthcareFacilityType = c.cfg.Structure.FacilityType
	}
	if m.PracticeSettingCode == "" {
		m.PracticeSettingCode = c.cfg.Structure.PracticeSetting
	}
	if m.AuthorInstitutionCode == "" && m.AuthorInstitutionName == "" {
		m.AuthorInstitutionCode, m.AuthorInstitutionName = c.cfg.Structure.Code, c.cfg.Structure.Name
	}
	if m.MimeType == "" {
		m.MimeType = "application/pdf"
	}
	if m.ConfidentialityCode == "" {
		m.ConfidentialityCode = "N"
	}
	if m.LanguageCode == "" {
		m.LanguageCode = "it-IT"
	}
	if m.CreationTime.IsZero() {
		m.CreationTime = c.now()
	}
	if m.Status == "" {
		m.Status = "Approved"
	}
	// documentName is a title ("Referto" in #2501), not a file name.
	name := strings.TrimSpace(m.Title)
	if name == "" {
		name = req.DocumentName
	}
	if name == "" {
		name = m.DocumentName
	}
	if name == "" {
		name = "Documento"
	}
	var stream *streamDoc
	if len(body) == 0 {
		// Streamed: gowsdl marshals a placeholder, the hook sends the file in its place.
		stream, body = newStreamDoc(req.Path, size, h)
	} else if !c.cfg.Security.SignBody && !c.trace.Enabled() {
		// In memory: the hook encodes the bytes in the placeholder's place (stream.go).
		stream, body = newMemStreamDoc(body)
	}
	return wireDocument{
		DocumentType: &document.DocumentType{
			Document:     document.Base64Binary(body),
			DocumentName: name,
			Status:       document.DocumentStatusTypeApproved,
		},
		Metadata: m,
		stream:   stream,
	}, cf, nil
}

func publishResult(r *document.PublicationResultType, fallbackID, messageID string) *PublishResult {
	out := &PublishResult{UniqueID: fallbackID, MessageID: messageID}
	if r != nil {
		if r.UniqueId != "" {
			out.UniqueID = r.UniqueId
		}
		out.Outcome = string(r.Status)
	}
	return out
}

func metadataFromWire(w *document.DocumentMetadataType) Metadata {
	if w == nil {
		return Metadata{}
	}
	name, code := parseXON(w.AuthorInstitution)
	return Metadata{
		PatientCF:              parsePatientID(w.PatientId),
		UniqueID:               w.UniqueId,
		RepositoryUniqueID:     w.RepositoryUniqueId,
		TypeCode:               w.TypeCode,
		ClassCode:              w.ClassCode,
		FormatCode:             w.FormatCode,
		PracticeSettingCode:    w.PracticeSettingCode,
		HealthcareFacilityType: w.HealthcareFacilityTypeCode,
		ConfidentialityCode:    w.ConfidentialityCode,
		EventCodes:             w.EventCodeList,
		ServiceStart:           goTime(w.ServiceStartTime),
		ServiceStop:            goTime(w.ServiceStopTime),
		AuthorInstitutionCode:  code,
		AuthorInstitutionName:  name,
		AuthorPerson:           w.AuthorPerson,
		AdministrativeRequest:  w.AdministrativeRequest,
		MimeType:               w.MimeType,
		Hash:                   string(w.Hash),
		Size:                   w.Size,
		CreationTime:           goTime(w.CreationTime),
		Title:                  w.Title,
		LanguageCode:           w.LanguageCode,
		Status:                 string(w.Status),
	}
}
