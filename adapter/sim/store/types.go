package store

import (
	"errors"
	"time"
)

// Document statuses (XDS availabilityStatus, short form).
const (
	StatusApproved   = "Approved"
	StatusDeprecated = "Deprecated"
	StatusDeleted    = "Deleted"
)

// Sentinel errors returned (wrapped) by the Store; test them with errors.Is.
var (
	// ErrNotFound is returned when a document (or a replaced/deleted one) is unknown.
	ErrNotFound = errors.New("store: not found")
	// ErrInvalid is returned for input the store refuses (missing id, unknown consent code…).
	ErrInvalid = errors.New("store: invalid input")
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("store: closed")
)

// DuplicateError is returned by Publish and Replace when the uniqueId already exists.
// Existing is the stored record and NewHash the hash of the refused body, so a caller can
// tell a harmless resend (SameContent) from a clash. errors.Is(err, ErrDuplicate) is true.
type DuplicateError struct {
	Existing DocumentMeta
	NewHash  string
}

// SameContent reports whether the refused body is byte-identical to the stored one.
func (e *DuplicateError) SameContent() bool { return e.NewHash == e.Existing.Hash }

// ErrDuplicate is the sentinel matched by a *DuplicateError through errors.Is.
var ErrDuplicate = errors.New("store: uniqueId already published")

// Error implements error.
func (e *DuplicateError) Error() string {
	return "store: uniqueId already published (stored hash " + e.Existing.Hash + ")"
}

// Is makes errors.Is(err, ErrDuplicate) true.
func (e *DuplicateError) Is(target error) bool { return target == ErrDuplicate }

// HashMismatchError is returned when the caller supplied a Hash that the body does not have.
type HashMismatchError struct {
	Declared, Computed string
}

// Error implements error.
func (e *HashMismatchError) Error() string {
	return "store: declared hash " + e.Declared + " differs from body hash " + e.Computed
}

// Institution is an author institution: the structure code and its name.
type Institution struct {
	Code string `json:"code,omitempty"`
	Name string `json:"name,omitempty"`
}

// DocumentMeta is the XDS metadata the simulator keeps for a document.
type DocumentMeta struct {
	PatientCF             string      `json:"patient_cf"`
	UniqueID              string      `json:"unique_id"`
	RepositoryUniqueID    string      `json:"repository_unique_id,omitempty"`
	TypeCode              string      `json:"type_code,omitempty"`
	ClassCode             string      `json:"class_code,omitempty"`
	FormatCode            string      `json:"format_code,omitempty"`
	PracticeSetting       string      `json:"practice_setting,omitempty"`
	FacilityType          string      `json:"facility_type,omitempty"`
	Confidentiality       string      `json:"confidentiality,omitempty"`
	EventCodes            []string    `json:"event_codes,omitempty"`
	ServiceStart          time.Time   `json:"service_start,omitzero"`
	ServiceStop           time.Time   `json:"service_stop,omitzero"`
	CreationTime          time.Time   `json:"creation_time,omitzero"`
	AuthorInstitution     Institution `json:"author_institution,omitzero"`
	AuthorPerson          string      `json:"author_person,omitempty"`
	AdministrativeRequest []string    `json:"administrative_request,omitempty"`
	MimeType              string      `json:"mime_type,omitempty"`
	Hash                  string      `json:"hash"` // SHA-256, lower-case hex, computed by the store
	Size                  int64       `json:"size"` // computed by the store
	Title                 string      `json:"title,omitempty"`
	Status                string      `json:"status"`
	PublishedBy           string      `json:"published_by,omitempty"` // structure code of the publisher
	PublishedAt           time.Time   `json:"published_at,omitzero"`
	DocumentName          string      `json:"document_name,omitempty"`
	Replaces              string      `json:"replaces,omitempty"`    // uniqueId this document replaced
	ReplacedBy            string      `json:"replaced_by,omitempty"` // uniqueId that replaced this one
}

// Filter selects documents for Search. Zero fields do not filter. From is inclusive and To
// exclusive, both on CreationTime. Status "" means Approved; Deleted documents are never
// returned. Limit <= 0 means no limit.
type Filter struct {
	PatientCF       string
	From, To        time.Time
	TypeCode        string
	ClassCode       string
	Status          string
	AuthorStructure string
	Offset, Limit   int
}
