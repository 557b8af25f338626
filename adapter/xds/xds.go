// Package xds holds the XDS metadata of a document with the Italian value sets (domain notes
// §6, wsdl/PROVENANCE.md). It is a leaf: the document reader (docmeta) derives it, the CLI
// reads it from sidecar files, and the adapter maps it onto the wire, all on one type.
package xds

import "time"

// Metadata is the XDS metadata of a published document.
type Metadata struct {
	// PatientCF is the patient's bare codice fiscale (the wire adds ^^^&2.16.840.1.113883.2.9.4.3.2&ISO).
	PatientCF string `json:"patient_cf"`
	// UniqueID is the document uniqueId, root^extension of the CDA id.
	UniqueID string `json:"unique_id"`
	// RepositoryUniqueID is the repository's OID (2.16.840.1.113883.2.9.2.160.4.5.…).
	RepositoryUniqueID string `json:"repository_unique_id,omitempty"`
	// TypeCode is the LOINC document type, e.g. 11502-2.
	TypeCode string `json:"type_code"`
	// ClassCode is the class (REF, LDO, VRB, SUM …).
	ClassCode string `json:"class_code"`
	// FormatCode is the CDA templateId root.
	FormatCode string `json:"format_code,omitempty"`
	// PracticeSettingCode is AD_PSC001 … AD_PSC999.
	PracticeSettingCode string `json:"practice_setting_code,omitempty"`
	// HealthcareFacilityType is Ospedale, Prevenzione, Territorio, SistemaTS or Cittadino.
	HealthcareFacilityType string `json:"healthcare_facility_type,omitempty"`
	// ConfidentialityCode is N, R or V.
	ConfidentialityCode string `json:"confidentiality_code,omitempty"`
	// EventCodes are event codes such as P99 (obscured).
	EventCodes []string `json:"event_codes,omitempty"`
	// ServiceStart and ServiceStop bound the clinical service.
	ServiceStart time.Time `json:"service_start,omitzero"`
	ServiceStop  time.Time `json:"service_stop,omitzero"`
	// AuthorInstitutionCode and AuthorInstitutionName are the authoring structure.
	AuthorInstitutionCode string `json:"author_institution_code,omitempty"`
	AuthorInstitutionName string `json:"author_institution_name,omitempty"`
	// AuthorPerson identifies the author (a fiscal code): personal data, never logged.
	AuthorPerson string `json:"author_person,omitempty"`
	// AdministrativeRequest is SSN, INPATIENT, NOSSN, SSR, DONOR or AUTO.
	AdministrativeRequest []string `json:"administrative_request,omitempty"`
	// MimeType is application/pdf (or text/xml for a bare CDA).
	MimeType string `json:"mime_type"`
	// Hash is the SHA-256 of the exact bytes sent, lower-case hex.
	Hash string `json:"hash"`
	// Size is the size of the exact bytes sent.
	Size int64 `json:"size"`
	// CreationTime is the document's creation time (the CDA effectiveTime).
	CreationTime time.Time `json:"creation_time,omitzero"`
	// Title is the document's title.
	Title string `json:"title,omitempty"`
	// LanguageCode is e.g. it-IT.
	LanguageCode string `json:"language_code,omitempty"`
	// Status is Approved or Deprecated, as the region reports it.
	Status string `json:"status,omitempty"`
	// DocumentName is the file name sent with the document.
	DocumentName string `json:"document_name,omitempty"`
}
