package sim

import (
	"errors"

	"github.com/fsepuglia/fsepuglia/adapter/codicefiscale"
	"github.com/fsepuglia/fsepuglia/adapter/sim/informativa"
	"github.com/fsepuglia/fsepuglia/adapter/sim/store"
	"github.com/fsepuglia/fsepuglia/generated/consenso"
)

func richiedenteC(r *consenso.RichiedenteType) (string, string, string, bool) {
	if r == nil {
		return "", "", "", false
	}
	return string(r.CodiceFiscale), r.Ruolo, r.Struttura, true
}

func consentPatient(c *call, p *consenso.PazienteType) (string, error) {
	if p == nil {
		return "", fault(CodeInvalid, "paziente missing")
	}
	if err := checkCF("paziente/codiceFiscale", string(p.CodiceFiscale)); err != nil {
		return "", err
	}
	cf := codicefiscale.Normalize(string(p.CodiceFiscale))
	if err := c.checkPatient(cf); err != nil {
		return "", err
	}
	return cf, nil
}

func validConsentCode(code string) bool {
	for _, c := range store.ConsentCodes {
		if c == code {
			return true
		}
	}
	return false
}

func (s *Server) statoConsensi(c *call) (any, error) {
	var req consenso.StatoConsensi
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := c.applyRichiedente(richiedenteC(req.Richiedente)); err != nil {
		return nil, err
	}
	cf, err := consentPatient(c, req.Paziente)
	if err != nil {
		return nil, err
	}
	st, err := s.data.Store.Consents(cf)
	if err != nil {
		return nil, err
	}
	hist, err := s.data.Store.ConsentHistory(cf)
	if err != nil {
		return nil, err
	}
	// The last event that set each code says when and by whom.
	last := map[string]store.ConsentEvent{}
	for _, ev := range hist {
		for _, ch := range ev.Changes {
			last[ch.Code] = ev
		}
	}
	resp := &consenso.StatoConsensiResponse{Esito: consenso.EsitoTypeSUCCESSO}
	for _, code := range store.ConsentCodes {
		ev, ok := last[code]
		if !ok {
			continue // never recorded: its value is the default (false, C1 true)
		}
		resp.Consenso = append(resp.Consenso, &consenso.StatoConsensoType{
			Codice: consenso.CodiceConsensoType(code), Valore: st.Values[code],
			DataAcquisizione: xsdTime(ev.At), RegistratoDa: consenso.CodiceFiscaleType(ev.By.OperatorCF),
			RuoloRegistrante: ev.By.Role,
		})
	}
	return resp, nil
}

func (s *Server) comunicazioneConsensi(c *call) (any, error) {
	var req consenso.ComunicazioneConsensi
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := c.applyRichiedente(richiedenteC(req.Richiedente)); err != nil {
		return nil, err
	}
	cf, err := consentPatient(c, req.Paziente)
	if err != nil {
		return nil, err
	}
	if req.IdInformativa == "" {
		return nil, fault(CodeInvalid, "idInformativa missing")
	}
	if _, _, err := informativa.ParseID(req.IdInformativa); err != nil {
		return nil, fault(CodeInvalid, "idInformativa not valid")
	}
	if len(req.Consenso) == 0 {
		return nil, fault(CodeInvalid, "consenso missing")
	}
	changes := make([]store.ConsentChange, 0, len(req.Consenso))
	for _, k := range req.Consenso {
		if k == nil || !validConsentCode(string(k.Codice)) {
			return nil, fault(CodeInvalid, "consenso/codice must be one of C1-C8")
		}
		changes = append(changes, store.ConsentChange{Code: string(k.Codice), Value: k.Valore})
	}
	actor := store.ConsentActor{OperatorCF: c.requester.OperatorCF, Role: c.requester.Role, Structure: c.requester.Structure}
	if t := req.Tutore; t != nil {
		if err := checkCF("tutore/codiceFiscale", string(t.CodiceFiscale)); err != nil {
			return nil, err
		}
		switch t.Ruolo {
		case consenso.RuoloTutoreTypeTUT, consenso.RuoloTutoreTypeGEN, consenso.RuoloTutoreTypeING:
		default:
			return nil, fault(CodeInvalid, "tutore/ruolo must be TUT, GEN or ING")
		}
		actor.OnBehalfOf = &store.OnBehalfOf{CF: codicefiscale.Normalize(string(t.CodiceFiscale)), Role: string(t.Ruolo)}
	}
	if _, err := s.data.Store.RecordConsents(cf, changes, actor, s.opt.Clock()); err != nil {
		if errors.Is(err, store.ErrInvalid) {
			// A business refusal travels in the response (wsdl/FAULTS.md).
			return &consenso.ComunicazioneConsensiResponse{Esito: consenso.EsitoTypeFALLIMENTO,
				Errori: []*consenso.ErroreType{{Codice: CodeInvalid, Descrizione: "consent change refused (C1 cannot be revoked)"}}}, nil
		}
		return nil, err
	}
	return &consenso.ComunicazioneConsensiResponse{Esito: consenso.EsitoTypeSUCCESSO}, nil
}

func (s *Server) recuperoInformativa(c *call) (any, error) {
	var req consenso.RecuperoInformativa
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := c.applyRichiedente(richiedenteC(req.Richiedente)); err != nil {
		return nil, err
	}
	id := req.IdInformativa
	if id == "" {
		id = informativa.DefaultID
	}
	_, version, err := informativa.ParseID(id)
	if err != nil {
		return nil, fault(CodeInvalid, "idInformativa not valid")
	}
	pdf, err := informativa.PDF(id)
	if err != nil {
		return nil, fault(CodeInvalid, "idInformativa not valid")
	}
	return &consenso.RecuperoInformativaResponse{Esito: consenso.EsitoTypeSUCCESSO, IdInformativa: id, Versione: version, Pdf: pdf}, nil
}
