package sim

import (
	"strconv"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/codicefiscale"
	"github.com/fsepuglia/fsepuglia/adapter/sim/store"
	"github.com/fsepuglia/fsepuglia/generated/taccuino"
	"github.com/hooklift/gowsdl/soap"
)

func richiedenteT(r *taccuino.RichiedenteType) (string, string, string, bool) {
	if r == nil {
		return "", "", "", false
	}
	return string(r.CodiceFiscale), r.Ruolo, r.Struttura, true
}

// taccuinoQuery checks a filtro and turns it into a store query (dataA is inclusive).
func taccuinoQuery(c *call, r *taccuino.RichiedenteType, f *taccuino.FiltroTaccuinoType, kind store.TaccuinoKind) (store.TaccuinoQuery, error) {
	if err := c.applyRichiedente(richiedenteT(r)); err != nil {
		return store.TaccuinoQuery{}, err
	}
	if f == nil {
		return store.TaccuinoQuery{}, fault(CodeInvalid, "filtro missing")
	}
	if err := checkCF("filtro/codiceFiscalePaziente", string(f.CodiceFiscalePaziente)); err != nil {
		return store.TaccuinoQuery{}, err
	}
	cf := codicefiscale.Normalize(string(f.CodiceFiscalePaziente))
	if err := c.checkPatient(cf); err != nil {
		return store.TaccuinoQuery{}, err
	}
	if f.Offset < 0 || f.Limit < 0 {
		return store.TaccuinoQuery{}, fault(CodeInvalid, "filtro/offset and filtro/limit must not be negative")
	}
	q := store.TaccuinoQuery{PatientCF: cf, Kind: kind, Offset: int(f.Offset), Limit: int(f.Limit)}
	if d := f.DataDa.ToGoTime(); !d.IsZero() {
		q.From = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
	}
	if d := f.DataA.ToGoTime(); !d.IsZero() {
		q.To = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return store.TaccuinoQuery{}, fault(CodeInvalid, "filtro/dataDa must not be after filtro/dataA")
	}
	return q, nil
}

func (s *Server) taccuinoItems(c *call, r *taccuino.RichiedenteType, f *taccuino.FiltroTaccuinoType, kind store.TaccuinoKind) (int32, []store.TaccuinoItem, error) {
	q, err := taccuinoQuery(c, r, f, kind)
	if err != nil {
		return 0, nil, err
	}
	total, items, err := s.data.Store.TaccuinoItems(q)
	if err != nil {
		return 0, nil, refusal(err)
	}
	return int32(total), items, nil
}

var tipoOf = map[store.TaccuinoKind]taccuino.TipoElementoType{
	store.KindRilevazioni:        taccuino.TipoElementoTypeRILEVAZIONE,
	store.KindFarmaci:            taccuino.TipoElementoTypeFARMACO,
	store.KindEventi:             taccuino.TipoElementoTypeEVENTO,
	store.KindSintomi:            taccuino.TipoElementoTypeSINTOMO,
	store.KindDocumentiPersonali: taccuino.TipoElementoTypeDOCUMENTO_PERSONALE,
}

func (s *Server) getTaccuino(c *call) (any, error) {
	var req taccuino.GetTaccuino
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	resp := &taccuino.GetTaccuinoResponse{}
	for _, k := range store.TaccuinoKinds {
		q, err := taccuinoQuery(c, req.Richiedente, req.Filtro, k)
		if err != nil {
			return nil, err
		}
		q.Offset, q.Limit = 0, 1
		n, _, err := s.data.Store.TaccuinoItems(q)
		if err != nil {
			return nil, refusal(err)
		}
		resp.Conteggio = append(resp.Conteggio, &taccuino.ConteggioType{Tipo: tipoOf[k], Numero: int32(n)})
		resp.Total += int32(n)
	}
	return resp, nil
}

func dateOnly(s string) soap.XSDDate {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return soap.XSDDate{}
	}
	return soap.CreateXsdDate(t, false)
}

func (s *Server) getRilevazioni(c *call) (any, error) {
	var req taccuino.GetRilevazioni
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	total, items, err := s.taccuinoItems(c, req.Richiedente, req.Filtro, store.KindRilevazioni)
	if err != nil {
		return nil, err
	}
	resp := &taccuino.GetRilevazioniResponse{Total: total}
	for _, it := range items {
		v := it.Fields["valore"]
		if v == "" && it.Fields["sistolica"] != "" {
			v = it.Fields["sistolica"] + "/" + it.Fields["diastolica"]
		}
		resp.Rilevazione = append(resp.Rilevazione, &taccuino.RilevazioneType{Id: it.ID, Data: xsdTime(it.Date),
			Parametro: it.Fields["tipo"], Valore: v, UnitaMisura: it.Fields["unita"], Note: it.Fields["momento"]})
	}
	return resp, nil
}

func (s *Server) getFarmaci(c *call) (any, error) {
	var req taccuino.GetFarmaci
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	total, items, err := s.taccuinoItems(c, req.Richiedente, req.Filtro, store.KindFarmaci)
	if err != nil {
		return nil, err
	}
	resp := &taccuino.GetFarmaciResponse{Total: total}
	for _, it := range items {
		start := dateOnly(it.Fields["dal"])
		if it.Fields["dal"] == "" {
			start = soap.CreateXsdDate(it.Date, false)
		}
		resp.Farmaco = append(resp.Farmaco, &taccuino.FarmacoType{Id: it.ID, DataInizio: start, DataFine: dateOnly(it.Fields["al"]),
			Nome: it.Fields["nome"], CodiceAIC: it.Fields["aic"], Posologia: it.Fields["posologia"], Note: it.Fields["note"]})
	}
	return resp, nil
}

func (s *Server) getEventi(c *call) (any, error) {
	var req taccuino.GetEventi
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	total, items, err := s.taccuinoItems(c, req.Richiedente, req.Filtro, store.KindEventi)
	if err != nil {
		return nil, err
	}
	resp := &taccuino.GetEventiResponse{Total: total}
	for _, it := range items {
		resp.Evento = append(resp.Evento, &taccuino.EventoType{Id: it.ID, Data: xsdTime(it.Date), Tipo: it.Fields["tipo"], Descrizione: it.Fields["descrizione"]})
	}
	return resp, nil
}

var intensita = map[string]int32{"lieve": 1, "moderata": 2, "grave": 3}

func (s *Server) getSintomi(c *call) (any, error) {
	var req taccuino.GetSintomi
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	total, items, err := s.taccuinoItems(c, req.Richiedente, req.Filtro, store.KindSintomi)
	if err != nil {
		return nil, err
	}
	resp := &taccuino.GetSintomiResponse{Total: total}
	for _, it := range items {
		resp.Sintomo = append(resp.Sintomo, &taccuino.SintomoType{Id: it.ID, Data: xsdTime(it.Date),
			Descrizione: it.Fields["sintomo"], Intensita: intensita[it.Fields["intensita"]]})
	}
	return resp, nil
}

func (s *Server) getDocumentiPersonali(c *call) (any, error) {
	var req taccuino.GetDocumentiPersonali
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	total, items, err := s.taccuinoItems(c, req.Richiedente, req.Filtro, store.KindDocumentiPersonali)
	if err != nil {
		return nil, err
	}
	resp := &taccuino.GetDocumentiPersonaliResponse{Total: total}
	for _, it := range items {
		size, _ := strconv.ParseInt(it.Fields["size"], 10, 64)
		resp.DocumentoPersonale = append(resp.DocumentoPersonale, &taccuino.DocumentoPersonaleType{Id: it.ID, Data: xsdTime(it.Date),
			Titolo: it.Fields["titolo"], Tipo: it.Fields["tipo"], MimeType: it.Fields["mimeType"], Size: size})
	}
	return resp, nil
}
