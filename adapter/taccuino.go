package adapter

import (
	"context"
	"fmt"

	"github.com/hooklift/gowsdl/soap"

	"github.com/fsepuglia/fsepuglia/adapter/wssec/saml"
	"github.com/fsepuglia/fsepuglia/generated/taccuino"
)

func taccuinoOp(name string) operation {
	return op(name)
}

// ParseTaccuinoKind validates a Taccuino item kind.
func ParseTaccuinoKind(s string) (TaccuinoKind, error) {
	for _, k := range TaccuinoKinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", &InputError{Field: "kind", Value: s, Msg: "is not a Taccuino item kind", Fix: fmt.Sprintf("use one of %v", TaccuinoKinds)}
}

func (s *TaccuinoService) filter(q TaccuinoQuery) (*taccuino.FiltroTaccuinoType, string, error) {
	cf, err := checkCF("patient", q.PatientCF)
	if err != nil {
		return nil, "", err
	}
	if q.Offset < 0 || q.Limit < 0 {
		return nil, "", &InputError{Field: "offset/limit", Msg: "must not be negative", Fix: "use offset >= 0 and limit >= 1"}
	}
	if !q.From.IsZero() && !q.To.IsZero() && q.To.Before(q.From) {
		return nil, "", &InputError{Field: "to", Msg: "is before from", Fix: "give a date range with from <= to"}
	}
	if q.Limit == 0 {
		q.Limit = 50
	}
	return &taccuino.FiltroTaccuinoType{CodiceFiscalePaziente: taccuino.CodiceFiscaleType(cf),
		DataDa: xsdDate(q.From), DataA: xsdDate(q.To), Offset: int32(q.Offset), Limit: int32(q.Limit)}, cf, nil
}

var kindOfTipo = map[taccuino.TipoElementoType]TaccuinoKind{
	taccuino.TipoElementoTypeRILEVAZIONE:         TaccuinoRilevazioni,
	taccuino.TipoElementoTypeFARMACO:             TaccuinoFarmaci,
	taccuino.TipoElementoTypeEVENTO:              TaccuinoEventi,
	taccuino.TipoElementoTypeSINTOMO:             TaccuinoSintomi,
	taccuino.TipoElementoTypeDOCUMENTO_PERSONALE: TaccuinoDocumentiPersonali,
}

// Summary counts a patient's Taccuino items per kind (getTaccuino).
func (s *TaccuinoService) Summary(ctx context.Context, patientCF string) (*TaccuinoSummary, error) {
	f, cf, err := s.filter(TaccuinoQuery{PatientCF: patientCF})
	if err != nil {
		return nil, err
	}
	in := &taccuino.GetTaccuino{Richiedente: s.c.taccuinoRequester(), Filtro: f}
	var out taccuino.GetTaccuinoResponse
	_, err = s.c.do(ctx, taccuinoOp("getTaccuino"), &saml.Attributes{PatientCF: cf}, func(ctx context.Context, sc *soap.Client) error {
		return into(ctx, &out, in, taccuino.NewITaccuino(sc).GetTaccuinoContext)
	})
	if err != nil {
		return nil, err
	}
	sum := &TaccuinoSummary{Counts: map[TaccuinoKind]int{}}
	for _, k := range TaccuinoKinds {
		sum.Counts[k] = 0
	}
	for _, c := range out.Conteggio {
		if c == nil {
			continue
		}
		if k, ok := kindOfTipo[c.Tipo]; ok {
			sum.Counts[k] = int(c.Numero)
		}
	}
	return sum, nil
}

// Items lists one kind of Taccuino items (getRilevazioni, getFarmaci, getEventi, getSintomi,
// getDocumentiPersonali).
func (s *TaccuinoService) Items(ctx context.Context, q TaccuinoQuery) (*TaccuinoPage, error) {
	if _, err := ParseTaccuinoKind(string(q.Kind)); err != nil {
		return nil, err
	}
	f, cf, err := s.filter(q)
	if err != nil {
		return nil, err
	}
	r := s.c.taccuinoRequester()
	page := &TaccuinoPage{}
	attrs := &saml.Attributes{PatientCF: cf}
	run := func(name string, fn func(ctx context.Context, t taccuino.ITaccuino) error) error {
		_, err := s.c.do(ctx, taccuinoOp(name), attrs, func(ctx context.Context, sc *soap.Client) error {
			return fn(ctx, taccuino.NewITaccuino(sc))
		})
		return err
	}
	switch q.Kind {
	case TaccuinoRilevazioni:
		err = run("getRilevazioni", func(ctx context.Context, t taccuino.ITaccuino) error {
			var out taccuino.GetRilevazioniResponse
			if err := into(ctx, &out, &taccuino.GetRilevazioni{Richiedente: r, Filtro: f}, t.GetRilevazioniContext); err != nil {
				return err
			}
			page.Total = int(out.Total)
			for _, x := range out.Rilevazione {
				page.Items = append(page.Items, TaccuinoItem{ID: x.Id, Kind: q.Kind, Date: goTime(x.Data), Title: x.Parametro, Value: x.Valore, Unit: x.UnitaMisura, Notes: x.Note})
			}
			return nil
		})
	case TaccuinoFarmaci:
		err = run("getFarmaci", func(ctx context.Context, t taccuino.ITaccuino) error {
			var out taccuino.GetFarmaciResponse
			if err := into(ctx, &out, &taccuino.GetFarmaci{Richiedente: r, Filtro: f}, t.GetFarmaciContext); err != nil {
				return err
			}
			page.Total = int(out.Total)
			for _, x := range out.Farmaco {
				notes := x.Note
				if end := goDate(x.DataFine); !end.IsZero() {
					notes = joinNonEmpty("until "+end.Format("2006-01-02"), notes)
				}
				page.Items = append(page.Items, TaccuinoItem{ID: x.Id, Kind: q.Kind, Date: goDate(x.DataInizio), Title: x.Nome, Value: x.Posologia, Code: x.CodiceAIC, Notes: notes})
			}
			return nil
		})
	case TaccuinoEventi:
		err = run("getEventi", func(ctx context.Context, t taccuino.ITaccuino) error {
			var out taccuino.GetEventiResponse
			if err := into(ctx, &out, &taccuino.GetEventi{Richiedente: r, Filtro: f}, t.GetEventiContext); err != nil {
				return err
			}
			page.Total = int(out.Total)
			for _, x := range out.Evento {
				page.Items = append(page.Items, TaccuinoItem{ID: x.Id, Kind: q.Kind, Date: goTime(x.Data), Title: x.Tipo, Notes: x.Descrizione})
			}
			return nil
		})
	case TaccuinoSintomi:
		err = run("getSintomi", func(ctx context.Context, t taccuino.ITaccuino) error {
			var out taccuino.GetSintomiResponse
			if err := into(ctx, &out, &taccuino.GetSintomi{Richiedente: r, Filtro: f}, t.GetSintomiContext); err != nil {
				return err
			}
			page.Total = int(out.Total)
			for _, x := range out.Sintomo {
				v := ""
				if x.Intensita != 0 {
					v = fmt.Sprint(x.Intensita)
				}
				page.Items = append(page.Items, TaccuinoItem{ID: x.Id, Kind: q.Kind, Date: goTime(x.Data), Title: x.Descrizione, Value: v})
			}
			return nil
		})
	case TaccuinoDocumentiPersonali:
		err = run("getDocumentiPersonali", func(ctx context.Context, t taccuino.ITaccuino) error {
			var out taccuino.GetDocumentiPersonaliResponse
			if err := into(ctx, &out, &taccuino.GetDocumentiPersonali{Richiedente: r, Filtro: f}, t.GetDocumentiPersonaliContext); err != nil {
				return err
			}
			page.Total = int(out.Total)
			for _, x := range out.DocumentoPersonale {
				page.Items = append(page.Items, TaccuinoItem{ID: x.Id, Kind: q.Kind, Date: goTime(x.Data), Title: x.Titolo, Value: x.Tipo, MimeType: x.MimeType})
			}
			return nil
		})
	}
	if err != nil {
		return nil, err
	}
	if page.Items == nil {
		page.Items = []TaccuinoItem{}
	}
	return page, nil
}

func joinNonEmpty(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}
