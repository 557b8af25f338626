package gateway

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/xds"
)

// Body is the requestBody part of create, replace, validate-and-create and
// validate-and-replace, and the JSON of a metadata update (PublicationCreationReqDTO and its
// siblings in the OpenAPI file). Empty fields are left out, so each variant sends only its
// own fields; the deprecated priorita is never sent.
type Body struct {
	WorkflowInstanceID          string   `json:"workflowInstanceId,omitempty"`
	HealthDataFormat            string   `json:"healthDataFormat,omitempty"`
	Mode                        string   `json:"mode,omitempty"`
	TipologiaStruttura          string   `json:"tipologiaStruttura"`
	AttiCliniciRegoleAccesso    []string `json:"attiCliniciRegoleAccesso,omitempty"`
	IdentificativoDoc           string   `json:"identificativoDoc,omitempty"`
	IdentificativoRep           string   `json:"identificativoRep,omitempty"`
	TipoDocumentoLivAlto        string   `json:"tipoDocumentoLivAlto"`
	AssettoOrganizzativo        string   `json:"assettoOrganizzativo"`
	DataInizioPrestazione       string   `json:"dataInizioPrestazione,omitempty"`
	DataFinePrestazione         string   `json:"dataFinePrestazione,omitempty"`
	ConservazioneANorma         string   `json:"conservazioneANorma,omitempty"`
	TipoAttivitaClinica         string   `json:"tipoAttivitaClinica"`
	IdentificativoSottomissione string   `json:"identificativoSottomissione"`
	Descriptions                []string `json:"descriptions,omitempty"`
	AdministrativeRequest       []string `json:"administrativeRequest,omitempty"`
}

// ValidationBody is the requestBody of a validation (ValidationCDAReqDTO).
type ValidationBody struct {
	HealthDataFormat string `json:"healthDataFormat,omitempty"`
	Mode             string `json:"mode,omitempty"`
	Activity         string `json:"activity"`
}

// The value sets of the request fields (OpenAPI enums).
var (
	FacilityTypes      = []string{"Ospedale", "Prevenzione", "Territorio", "SistemaTS", "Cittadino", "MdsPN_DGC"}
	ClassCodes         = []string{"WOR", "REF", "LDO", "RIC", "SUM", "TAC", "PRS", "PRE", "ESE", "PDC", "VAC", "CER", "VRB", "CON", "CNT"}
	ClinicalActivities = []string{"PHR", "CON", "DIS", "ERP", "Sistema_TS", "INI", "PN_DGC", "OBS"}
	AdminRequests      = []string{"SSN", "INPATIENT", "NOSSN", "SSR", "DONOR"}
	PracticeSetting    = regexp.MustCompile(`^AD_PSC(0\d\d|1[0-2]\d|13[01]|199|999)$`)
	// RepositoryIDPattern and SubmissionIDPattern are the OID shapes of identificativoRep and
	// identificativoSottomissione (region code or INI).
	RepositoryIDPattern = regexp.MustCompile(`^2\.16\.840\.1\.113883\.2\.9\.2\.(\d{3}|INI)\.4\.5(\.[0-9]+)+$`)
	SubmissionIDPattern = regexp.MustCompile(`^2\.16\.840\.1\.113883\.2\.9\.2\.(\d{3}|INI)\.4\.3(\.[0-9]+)+$`)
)

// DefaultSubmissionRoot is Regione Puglia's SubmissionSet.uniqueId root.
const DefaultSubmissionRoot = "2.16.840.1.113883.2.9.2.160.4.3"

// FieldError is a request field the gateway would refuse, refused here first.
type FieldError struct {
	// Field is the JSON field of the request body.
	Field string
	// Value is the offending value ("" when missing).
	Value string
	// Msg says what is wrong, Fix what to change.
	Msg, Fix string
}

// Error implements error.
func (e *FieldError) Error() string {
	s := "gateway: requestBody." + e.Field + ": " + e.Msg
	if e.Value != "" {
		s += fmt.Sprintf(" (found %q)", e.Value)
	}
	if e.Fix != "" {
		s += "; " + e.Fix
	}
	return s
}

// BodyOptions are the publication fields that the document and the structure profile do not
// give.
type BodyOptions struct {
	// ClinicalActivity is tipoAttivitaClinica; "" means PHR.
	ClinicalActivity string
	// SubmissionRoot is the root of identificativoSottomissione; "" means DefaultSubmissionRoot.
	SubmissionRoot string
	// ConservazioneANorma is sent when set.
	ConservazioneANorma string
	// Now is when the submission set is made (its id's last arc); zero means time.Now.
	Now time.Time
}

// BodyFrom derives the publication body from the document's metadata (adapter/docmeta
// derives them from the CDA and the structure profile) and checks it: a field that would be
// refused is a *FieldError naming it.
func BodyFrom(m xds.Metadata, o BodyOptions) (Body, error) {
	b := Body{
		HealthDataFormat:         "CDA",
		Mode:                     ModeAttachment,
		TipologiaStruttura:       m.HealthcareFacilityType,
		AttiCliniciRegoleAccesso: m.EventCodes,
		IdentificativoDoc:        m.UniqueID,
		IdentificativoRep:        m.RepositoryUniqueID,
		TipoDocumentoLivAlto:     m.ClassCode,
		AssettoOrganizzativo:     m.PracticeSettingCode,
		ConservazioneANorma:      o.ConservazioneANorma,
		TipoAttivitaClinica:      o.ClinicalActivity,
		AdministrativeRequest:    m.AdministrativeRequest,
	}
	if b.TipoAttivitaClinica == "" {
		b.TipoAttivitaClinica = "PHR"
	}
	if !m.ServiceStart.IsZero() {
		b.DataInizioPrestazione = m.ServiceStart.UTC().Format("20060102150405")
	}
	if !m.ServiceStop.IsZero() {
		b.DataFinePrestazione = m.ServiceStop.UTC().Format("20060102150405")
	}
	root := o.SubmissionRoot
	if root == "" {
		root = DefaultSubmissionRoot
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	var r [2]byte
	_, _ = rand.Read(r[:])
	b.IdentificativoSottomissione = root + "." + strconv.FormatInt(now.UnixMilli(), 10) + strconv.Itoa(int(binary.BigEndian.Uint16(r[:])%1000)+1000)
	return b, b.Check()
}

// Check runs the field checks of the OpenAPI schema and the dispatcher on a body.
func (b Body) Check() error {
	var errs []error
	need := func(field, v, fix string) bool {
		if strings.TrimSpace(v) == "" {
			errs = append(errs, &FieldError{Field: field, Msg: "required", Fix: fix})
			return false
		}
		return true
	}
	oneOf := func(field, v string, set []string) {
		if !slices.Contains(set, v) {
			errs = append(errs, &FieldError{Field: field, Value: v, Msg: "not in the value set", Fix: "use one of " + strings.Join(set, " ")})
		}
	}
	if need("tipologiaStruttura", b.TipologiaStruttura, "set structure.facility_type (Ospedale, Prevenzione, Territorio …)") {
		oneOf("tipologiaStruttura", b.TipologiaStruttura, FacilityTypes)
	}
	if need("tipoDocumentoLivAlto", b.TipoDocumentoLivAlto, "the document type has no class: pass --class-code") {
		oneOf("tipoDocumentoLivAlto", b.TipoDocumentoLivAlto, ClassCodes)
	}
	if need("assettoOrganizzativo", b.AssettoOrganizzativo, "set structure.practice_setting (AD_PSC001 … AD_PSC999)") && !PracticeSetting.MatchString(b.AssettoOrganizzativo) {
		errs = append(errs, &FieldError{Field: "assettoOrganizzativo", Value: b.AssettoOrganizzativo, Msg: "not AD_PSCnnn", Fix: "use AD_PSC001 … AD_PSC131, AD_PSC199 or AD_PSC999"})
	}
	if need("tipoAttivitaClinica", b.TipoAttivitaClinica, "set gateway.clinical_activity") {
		oneOf("tipoAttivitaClinica", b.TipoAttivitaClinica, ClinicalActivities)
	}
	if need("identificativoSottomissione", b.IdentificativoSottomissione, "") && !SubmissionIDPattern.MatchString(b.IdentificativoSottomissione) {
		errs = append(errs, &FieldError{Field: "identificativoSottomissione", Value: b.IdentificativoSottomissione, Msg: "not a 2.16.840.1.113883.2.9.2.[REGION].4.3.X OID", Fix: "set gateway.submission_root"})
	}
	if b.IdentificativoDoc != "" {
		if _, ext, ok := strings.Cut(b.IdentificativoDoc, "^"); !ok || ext == "" {
			errs = append(errs, &FieldError{Field: "identificativoDoc", Value: b.IdentificativoDoc, Msg: "must be root^extension", Fix: "the CDA id needs @root and @extension"})
		}
	}
	if b.IdentificativoRep != "" && !RepositoryIDPattern.MatchString(b.IdentificativoRep) {
		errs = append(errs, &FieldError{Field: "identificativoRep", Value: b.IdentificativoRep, Msg: "not a 2.16.840.1.113883.2.9.2.[REGION].4.5.X OID", Fix: "set structure.repository_id"})
	}
	for _, d := range []struct{ f, v string }{{"dataInizioPrestazione", b.DataInizioPrestazione}, {"dataFinePrestazione", b.DataFinePrestazione}} {
		if d.v != "" {
			if _, err := time.Parse("20060102150405", d.v); err != nil {
				errs = append(errs, &FieldError{Field: d.f, Value: d.v, Msg: "not yyyyMMddHHmmss"})
			}
		}
	}
	for _, a := range b.AdministrativeRequest {
		oneOf("administrativeRequest", a, AdminRequests)
	}
	if b.Mode != "" && b.Mode != ModeAttachment && b.Mode != ModeResource {
		errs = append(errs, &FieldError{Field: "mode", Value: b.Mode, Msg: "not ATTACHMENT or RESOURCE"})
	}
	return errors.Join(errs...)
}

// forPublication checks what a create/replace body needs beyond Check.
func (b Body) forPublication() error {
	var errs []error
	if b.IdentificativoDoc == "" {
		errs = append(errs, &FieldError{Field: "identificativoDoc", Msg: "required", Fix: "the CDA needs ClinicalDocument/id"})
	}
	if b.IdentificativoRep == "" {
		errs = append(errs, &FieldError{Field: "identificativoRep", Msg: "required", Fix: "set structure.repository_id (2.16.840.1.113883.2.9.2.160.4.5.…)"})
	}
	return errors.Join(errs...)
}
