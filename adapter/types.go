package adapter

import (
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/xds"
)

// Metadata is the XDS metadata of a published document (see adapter/xds).
type Metadata = xds.Metadata

// PublishRequest is one document to publish (or to publish as a replacement).
type PublishRequest struct {
	// Metadata describes the document; Hash and Size are computed from Body when empty.
	Metadata Metadata
	// Body is the exact file to send (a signed PDF with cda.xml inside).
	Body []byte
	// Path, when Body is empty, names the file to send instead: it is streamed (its base64
	// is encoded from the file while the request is written, so memory does not grow with
	// its size) and its SHA-256 is checked on the way. Metadata.Hash and Size are computed
	// from the file when empty. With security.sign_body the file is read into memory (the
	// Body's digest needs it whole).
	Path string
	// DocumentName is the file name sent with the document.
	DocumentName string
}

// PublishResult is the region's answer to a publication.
type PublishResult struct {
	UniqueID string `json:"unique_id"`
	// Outcome is the region's esito text.
	Outcome string `json:"outcome,omitempty"`
	// MessageID is the WS-Addressing MessageID the request carried.
	MessageID string `json:"message_id"`
}

// SearchQuery selects a patient's documents.
type SearchQuery struct {
	PatientCF       string
	From, To        time.Time
	TypeCode        string
	ClassCode       string
	Status          string
	AuthorStructure string
	Offset, Limit   int
}

// SearchResult is one page of a search.
type SearchResult struct {
	Total     int        `json:"total"`
	Documents []Metadata `json:"documents"`
}

// Document is a retrieved document: its metadata and the file.
type Document struct {
	Metadata Metadata `json:"metadata"`
	Body     []byte   `json:"-"`
}

// ConsentCode is a national consent code, C1 … C8.
type ConsentCode string

// The consent codes (domain.md §5).
const (
	ConsentFeeding      ConsentCode = "C1" // implicit since DL 34/2020
	ConsentConsultation ConsentCode = "C2"
	ConsentPast         ConsentCode = "C3" // documents before 2020-05-19
	ConsentOpposition   ConsentCode = "C4"
)

// Consent is the current value of one consent.
type Consent struct {
	Code       ConsentCode `json:"code"`
	Value      bool        `json:"value"`
	Date       time.Time   `json:"date,omitzero"`
	RecordedBy string      `json:"recorded_by,omitempty"`
}

// ConsentStatus is a patient's consents.
type ConsentStatus struct {
	Consents []Consent `json:"consents"`
}

// Representative gives or revokes consent on the patient's behalf.
type Representative struct {
	CF string `json:"cf"`
	// Role is TUT (guardian), GEN (parent) or ING (delegate).
	Role string `json:"role"`
}

// ConsentChange records consent values for a patient.
type ConsentChange struct {
	PatientCF  string
	Values     map[ConsentCode]bool
	OnBehalfOf *Representative
	// InformativaID is the privacy notice the patient was shown (e.g. "160^1.0"); empty means
	// the current one, fetched with recuperoInformativa first.
	InformativaID string
}

// Informativa is the privacy notice.
type Informativa struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	PDF     []byte `json:"-"`
}

// TaccuinoKind is a kind of Taccuino item.
type TaccuinoKind string

// The Taccuino item kinds.
const (
	TaccuinoRilevazioni        TaccuinoKind = "rilevazioni"
	TaccuinoFarmaci            TaccuinoKind = "farmaci"
	TaccuinoEventi             TaccuinoKind = "eventi"
	TaccuinoSintomi            TaccuinoKind = "sintomi"
	TaccuinoDocumentiPersonali TaccuinoKind = "documenti"
)

// TaccuinoKinds lists every kind, in display order.
var TaccuinoKinds = []TaccuinoKind{TaccuinoRilevazioni, TaccuinoFarmaci, TaccuinoEventi, TaccuinoSintomi, TaccuinoDocumentiPersonali}

// TaccuinoQuery selects Taccuino items of one kind.
type TaccuinoQuery struct {
	PatientCF     string
	Kind          TaccuinoKind
	From, To      time.Time
	Offset, Limit int
}

// TaccuinoItem is one item of the Taccuino, whatever its kind.
type TaccuinoItem struct {
	ID    string       `json:"id"`
	Kind  TaccuinoKind `json:"kind"`
	Date  time.Time    `json:"date"`
	Title string       `json:"title"`
	Value string       `json:"value,omitempty"`
	Unit  string       `json:"unit,omitempty"` // unit of measure (rilevazioni only)
	Notes string       `json:"notes,omitempty"`
	// Code is the drug's AIC code (farmaci only).
	Code string `json:"code,omitempty"`
	// MimeType is the MIME type of a personal document (documenti only).
	MimeType string `json:"mime_type,omitempty"`
}

// TaccuinoPage is one page of Taccuino items.
type TaccuinoPage struct {
	Total int            `json:"total"`
	Items []TaccuinoItem `json:"items"`
}

// TaccuinoSummary counts a patient's Taccuino items per kind.
type TaccuinoSummary struct {
	Counts map[TaccuinoKind]int `json:"counts"`
}
