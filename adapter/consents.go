package adapter

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/hooklift/gowsdl/soap"

	"github.com/fsepuglia/fsepuglia/adapter/wssec/saml"
	"github.com/fsepuglia/fsepuglia/generated/consenso"
)

var (
	opStatoConsensi         = op("statoConsensi")
	opComunicazioneConsensi = op("comunicazioneConsensi")
	opRecuperoInformativa   = op("recuperoInformativa")
)

var consentCode = regexp.MustCompile(`^C[1-8]$`)

// ParseConsentCode validates a consent code (C1 … C8, case-insensitive).
func ParseConsentCode(s string) (ConsentCode, error) {
	c := strings.ToUpper(strings.TrimSpace(s))
	if !consentCode.MatchString(c) {
		return "", &InputError{Field: "consent code", Value: s, Msg: "is not a consent code", Fix: "use C1 … C8 (C2 consultation, C3 past documents, C4 opposition)"}
	}
	return ConsentCode(c), nil
}

// RemoteError is an answer whose esito is FALLIMENTO: the service refused the request
// without a SOAP fault, listing its errors.
type RemoteError struct {
	Operation string
	Errors    []RemoteErrorItem
}

// RemoteErrorItem is one entry of an esito FALLIMENTO answer.
type RemoteErrorItem struct {
	Code        string `json:"code"`
	Description string `json:"description"`
}

// Error implements error.
func (e *RemoteError) Error() string {
	parts := make([]string, 0, len(e.Errors))
	for _, it := range e.Errors {
		parts = append(parts, it.Code+" - "+it.Description)
	}
	return fmt.Sprintf("%s: esito FALLIMENTO: %s", e.Operation, strings.Join(parts, "; "))
}

func esito(op string, e consenso.EsitoType, errs []*consenso.ErroreType) error {
	if e == consenso.EsitoTypeSUCCESSO || (e == "" && len(errs) == 0) {
		return nil
	}
	re := &RemoteError{Operation: op}
	for _, x := range errs {
		if x != nil {
			re.Errors = append(re.Errors, RemoteErrorItem{Code: x.Codice, Description: x.Descrizione})
		}
	}
	return re
}

// Status reads a patient's consents (statoConsensi).
func (s *ConsentService) Status(ctx context.Context, patientCF string) (*ConsentStatus, error) {
	cf, err := checkCF("patient", patientCF)
	if err != nil {
		return nil, err
	}
	in := &consenso.StatoConsensi{Richiedente: s.c.consentRequester("READ"), Paziente: &consenso.PazienteType{CodiceFiscale: consenso.CodiceFiscaleType(cf)}}
	var out consenso.StatoConsensiResponse
	_, err = s.c.do(ctx, opStatoConsensi, &saml.Attributes{PatientCF: cf}, func(ctx context.Context, sc *soap.Client) error {
		return into(ctx, &out, in, consenso.NewIGestoreConsenso(sc).StatoConsensiContext)
	})
	if err != nil {
		return nil, err
	}
	if err := esito(opStatoConsensi.name, out.Esito, out.Errori); err != nil {
		return nil, err
	}
	st := &ConsentStatus{Consents: make([]Consent, 0, len(out.Consenso))}
	for _, c := range out.Consenso {
		if c == nil {
			continue
		}
		st.Consents = append(st.Consents, Consent{Code: ConsentCode(c.Codice), Value: c.Valore,
			Date: goTime(c.DataAcquisizione), RecordedBy: string(c.RuoloRegistrante)})
	}
	return st, nil
}

// Set records consent values (comunicazioneConsensi) and returns the resulting status.
func (s *ConsentService) Set(ctx context.Context, ch ConsentChange) (*ConsentStatus, error) {
	cf, err := checkCF("patient", ch.PatientCF)
	if err != nil {
		return nil, err
	}
	if len(ch.Values) == 0 {
		return nil, &InputError{Field: "consents", Msg: "no consent to record", Fix: "give at least one code, e.g. C2=true"}
	}
	codes := make([]string, 0, len(ch.Values))
	for k := range ch.Values {
		code, err := ParseConsentCode(string(k))
		if err != nil {
			return nil, err
		}
		codes = append(codes, string(code))
	}
	sort.Strings(codes)
	in := &consenso.ComunicazioneConsensi{Richiedente: s.c.consentRequester("UPDATE"),
		Paziente: &consenso.PazienteType{CodiceFiscale: consenso.CodiceFiscaleType(cf)}}
	for _, code := range codes {
		in.Consenso = append(in.Consenso, &consenso.ConsensoType{Codice: consenso.CodiceConsensoType(code), Valore: ch.Values[ConsentCode(code)]})
	}
	if ch.OnBehalfOf != nil {
		rcf, err := checkCF("on behalf of", ch.OnBehalfOf.CF)
		if err != nil {
			return nil, err
		}
		role := strings.ToUpper(ch.OnBehalfOf.Role)
		switch role {
		case "TUT", "GEN", "ING":
		default:
			return nil, &InputError{Field: "on behalf of role", Value: ch.OnBehalfOf.Role, Msg: "is not a representative role", Fix: "use TUT (guardian), GEN (parent) or ING (delegate)"}
		}
		in.Tutore = &consenso.TutoreType{CodiceFiscale: consenso.CodiceFiscaleType(rcf), Ruolo: consenso.RuoloTutoreType(role)}
	}
	in.IdInformativa = strings.TrimSpace(ch.InformativaID)
	if in.IdInformativa == "" {
		info, err := s.Informativa(ctx)
		if err != nil {
			return nil, fmt.Errorf("consents: the privacy notice the patient accepts is needed first: %w", err)
		}
		in.IdInformativa = info.ID
	}
	var out consenso.ComunicazioneConsensiResponse
	_, err = s.c.do(ctx, opComunicazioneConsensi, &saml.Attributes{PatientCF: cf, Consent: true}, func(ctx context.Context, sc *soap.Client) error {
		return into(ctx, &out, in, consenso.NewIGestoreConsenso(sc).ComunicazioneConsensiContext)
	})
	if err != nil {
		return nil, err
	}
	if err := esito(opComunicazioneConsensi.name, out.Esito, out.Errori); err != nil {
		return nil, err
	}
	st, err := s.Status(ctx, cf)
	if err != nil {
		return nil, &RecordedError{Err: err}
	}
	return st, nil
}

// RecordedError is returned by ConsentService.Set when the region recorded the consents but
// reading their status back failed: the change is done and must not be recorded again
// (check it later with Status). Err is why the status could not be read.
type RecordedError struct{ Err error }

// Error implements error.
func (e *RecordedError) Error() string {
	return fmt.Sprintf("consents recorded, status unavailable (reading it back failed: %v): do not record them again; check them later with the status", e.Err)
}

// Unwrap returns the read failure.
func (e *RecordedError) Unwrap() error { return e.Err }

// Informativa fetches the current privacy notice (recuperoInformativa).
func (s *ConsentService) Informativa(ctx context.Context) (*Informativa, error) {
	in := &consenso.RecuperoInformativa{Richiedente: s.c.consentRequester("READ")}
	var out consenso.RecuperoInformativaResponse
	_, err := s.c.do(ctx, opRecuperoInformativa, &saml.Attributes{}, func(ctx context.Context, sc *soap.Client) error {
		return into(ctx, &out, in, consenso.NewIGestoreConsenso(sc).RecuperoInformativaContext)
	})
	if err != nil {
		return nil, err
	}
	if err := esito(opRecuperoInformativa.name, out.Esito, out.Errori); err != nil {
		return nil, err
	}
	return &Informativa{ID: out.IdInformativa, Version: out.Versione, PDF: []byte(out.Pdf)}, nil
}
