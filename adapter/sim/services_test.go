package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda"
	"github.com/fsepuglia/fsepuglia/adapter/sim/informativa"
	"github.com/fsepuglia/fsepuglia/adapter/sim/inject"
	"github.com/fsepuglia/fsepuglia/adapter/sim/seed"
	"github.com/fsepuglia/fsepuglia/adapter/sim/store"
	"github.com/fsepuglia/fsepuglia/generated/consenso"
	"github.com/fsepuglia/fsepuglia/generated/document"
	"github.com/fsepuglia/fsepuglia/generated/taccuino"
	"github.com/hooklift/gowsdl/soap"
)

func TestConsents(t *testing.T) {
	h := startSim(t, nil)
	tutor := otherCF(t)
	send := func(t *testing.T, req *consenso.ComunicazioneConsensi) (string, consenso.ComunicazioneConsensiResponse) {
		t.Helper()
		code, body := h.call(ServiceConsenso, "comunicazioneConsensi", patB, req, nil)
		var r consenso.ComunicazioneConsensiResponse
		if code == "" {
			decodeBody(t, body, &r)
		}
		return code, r
	}
	pz := &consenso.PazienteType{CodiceFiscale: patB}
	tests := []struct {
		name     string
		req      *consenso.ComunicazioneConsensi
		wantCode string
		wantEsit consenso.EsitoType
	}{
		{"code outside C1-C8", &consenso.ComunicazioneConsensi{Paziente: pz, IdInformativa: informativa.DefaultID,
			Consenso: []*consenso.ConsensoType{{Codice: "C9", Valore: true}}}, CodeInvalid, ""},
		{"no consenso", &consenso.ComunicazioneConsensi{Paziente: pz, IdInformativa: informativa.DefaultID}, CodeInvalid, ""},
		{"no idInformativa", &consenso.ComunicazioneConsensi{Paziente: pz,
			Consenso: []*consenso.ConsensoType{{Codice: "C2", Valore: true}}}, CodeInvalid, ""},
		{"patient CF invalid", &consenso.ComunicazioneConsensi{Paziente: &consenso.PazienteType{CodiceFiscale: "FSELBR01C41A145T"},
			IdInformativa: informativa.DefaultID, Consenso: []*consenso.ConsensoType{{Codice: "C2", Valore: true}}}, CodeInvalid, ""},
		{"C1 revoked is a business refusal", &consenso.ComunicazioneConsensi{Paziente: pz, IdInformativa: informativa.DefaultID,
			Consenso: []*consenso.ConsensoType{{Codice: "C1", Valore: false}}}, "", consenso.EsitoTypeFALLIMENTO},
		{"C2 and C3 by the operator", &consenso.ComunicazioneConsensi{Paziente: pz, IdInformativa: informativa.DefaultID,
			Consenso: []*consenso.ConsensoType{{Codice: "C2", Valore: true}, {Codice: "C3", Valore: true}}}, "", consenso.EsitoTypeSUCCESSO},
		{"C3 withdrawn by a guardian", &consenso.ComunicazioneConsensi{Paziente: pz, IdInformativa: informativa.DefaultID,
			Tutore:   &consenso.TutoreType{CodiceFiscale: consenso.CodiceFiscaleType(tutor), Ruolo: consenso.RuoloTutoreTypeTUT},
			Consenso: []*consenso.ConsensoType{{Codice: "C3", Valore: false}}}, "", consenso.EsitoTypeSUCCESSO},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, r := send(t, tc.req)
			if code != tc.wantCode || r.Esito != tc.wantEsit {
				t.Fatalf("fault %q esito %q, want %q %q", code, r.Esito, tc.wantCode, tc.wantEsit)
			}
		})
	}
	t.Run("history records who", func(t *testing.T) {
		hist, err := h.srv.Data().Store.ConsentHistory(patB)
		if err != nil || len(hist) != 2 {
			t.Fatalf("history %d events, %v; want 2", len(hist), err)
		}
		first, second := hist[0].By, hist[1].By
		if first.OperatorCF != h.operatorCF() || first.Role != OperatorRole || first.Structure != StructureCode || first.OnBehalfOf != nil {
			t.Fatalf("first event by %+v", first)
		}
		if second.OnBehalfOf == nil || second.OnBehalfOf.CF != tutor || second.OnBehalfOf.Role != "TUT" {
			t.Fatalf("second event on behalf of %+v", second.OnBehalfOf)
		}
	})
	t.Run("statoConsensi", func(t *testing.T) {
		var r consenso.StatoConsensiResponse
		h.mustOK(ServiceConsenso, "statoConsensi", patB, &consenso.StatoConsensi{Paziente: pz}, &r)
		got := map[string]bool{}
		for _, c := range r.Consenso {
			got[string(c.Codice)] = c.Valore
			if string(c.RegistratoDa) != h.operatorCF() || c.DataAcquisizione.ToGoTime().IsZero() {
				t.Fatalf("%s registered by another operator or without a date", c.Codice)
			}
		}
		if r.Esito != consenso.EsitoTypeSUCCESSO || len(got) != 2 || !got["C2"] || got["C3"] {
			t.Fatalf("esito %s consents %v, want C2 true C3 false", r.Esito, got)
		}
	})
	t.Run("recuperoInformativa is a PDF", func(t *testing.T) {
		var r consenso.RecuperoInformativaResponse
		h.mustOK(ServiceConsenso, "recuperoInformativa", "", &consenso.RecuperoInformativa{}, &r)
		if r.IdInformativa != informativa.DefaultID || pdfcda.Detect(r.Pdf) != pdfcda.FormatPDF {
			t.Fatalf("id %q, %d bytes starting %q", r.IdInformativa, len(r.Pdf), r.Pdf[:min(8, len(r.Pdf))])
		}
		code, _ := h.call(ServiceConsenso, "recuperoInformativa", "", &consenso.RecuperoInformativa{IdInformativa: "no-caret"}, nil)
		if code != CodeInvalid {
			t.Fatalf("unknown informativa id: fault %q", code)
		}
	})
}

func TestTaccuino(t *testing.T) {
	h := startSim(t, nil)
	filtro := func(off, lim int32) *taccuino.FiltroTaccuinoType {
		return &taccuino.FiltroTaccuinoType{CodiceFiscalePaziente: seed.PatientB, Offset: off, Limit: lim}
	}
	t.Run("paging", func(t *testing.T) {
		var all, p1, p2 taccuino.GetRilevazioniResponse
		h.mustOK(ServiceTaccuino, "getRilevazioni", seed.PatientB, &taccuino.GetRilevazioni{Filtro: filtro(0, 0)}, &all)
		h.mustOK(ServiceTaccuino, "getRilevazioni", seed.PatientB, &taccuino.GetRilevazioni{Filtro: filtro(0, 5)}, &p1)
		h.mustOK(ServiceTaccuino, "getRilevazioni", seed.PatientB, &taccuino.GetRilevazioni{Filtro: filtro(5, 5)}, &p2)
		if all.Total < 10 || int(all.Total) != len(all.Rilevazione) || p1.Total != all.Total || p2.Total != all.Total {
			t.Fatalf("totals %d/%d/%d, %d items", all.Total, p1.Total, p2.Total, len(all.Rilevazione))
		}
		if len(p1.Rilevazione) != 5 || len(p2.Rilevazione) != 5 {
			t.Fatalf("pages of %d and %d", len(p1.Rilevazione), len(p2.Rilevazione))
		}
		for i, r := range append(p1.Rilevazione, p2.Rilevazione...) {
			if r.Id != all.Rilevazione[i].Id || r.Parametro == "" || r.Valore == "" {
				t.Fatalf("item %d: %+v, want id %s", i, r, all.Rilevazione[i].Id)
			}
		}
	})
	t.Run("date range", func(t *testing.T) {
		f := filtro(0, 0)
		f.DataDa = soap.CreateXsdDate(seed.Start, false)
		f.DataA = soap.CreateXsdDate(seed.Start.AddDate(0, 0, 2), false) // three whole days
		var r taccuino.GetRilevazioniResponse
		h.mustOK(ServiceTaccuino, "getRilevazioni", seed.PatientB, &taccuino.GetRilevazioni{Filtro: f}, &r)
		// PatientB has two glucose readings a day and a weight on day 0.
		if r.Total != 7 {
			t.Fatalf("three days: %d readings, want 7", r.Total)
		}
		for _, x := range r.Rilevazione {
			if d := x.Data.ToGoTime(); d.Before(seed.Start.Truncate(24*time.Hour)) || !d.Before(seed.Start.AddDate(0, 0, 3).Truncate(24*time.Hour)) {
				t.Fatalf("reading dated %s outside the range", d)
			}
		}
	})
	t.Run("every operation", func(t *testing.T) {
		counts, err := h.srv.Data().Store.TaccuinoCounts(seed.PatientB)
		if err != nil {
			t.Fatal(err)
		}
		var tr taccuino.GetTaccuinoResponse
		h.mustOK(ServiceTaccuino, "getTaccuino", seed.PatientB, &taccuino.GetTaccuino{Filtro: filtro(0, 0)}, &tr)
		sum := 0
		for _, c := range tr.Conteggio {
			sum += int(c.Numero)
		}
		if len(tr.Conteggio) != len(store.TaccuinoKinds) || int(tr.Total) != sum || sum == 0 {
			t.Fatalf("getTaccuino %+v", tr)
		}
		var f taccuino.GetFarmaciResponse
		h.mustOK(ServiceTaccuino, "getFarmaci", seed.PatientB, &taccuino.GetFarmaci{Filtro: filtro(0, 0)}, &f)
		var e taccuino.GetEventiResponse
		h.mustOK(ServiceTaccuino, "getEventi", seed.PatientB, &taccuino.GetEventi{Filtro: filtro(0, 0)}, &e)
		var s taccuino.GetSintomiResponse
		h.mustOK(ServiceTaccuino, "getSintomi", seed.PatientB, &taccuino.GetSintomi{Filtro: filtro(0, 0)}, &s)
		var d taccuino.GetDocumentiPersonaliResponse
		h.mustOK(ServiceTaccuino, "getDocumentiPersonali", seed.PatientB, &taccuino.GetDocumentiPersonali{Filtro: filtro(0, 0)}, &d)
		got := map[store.TaccuinoKind]int{store.KindFarmaci: len(f.Farmaco), store.KindEventi: len(e.Evento),
			store.KindSintomi: len(s.Sintomo), store.KindDocumentiPersonali: len(d.DocumentoPersonale)}
		for k, n := range got {
			if n != counts[k] || n == 0 {
				t.Errorf("%s: %d items, store has %d", k, n, counts[k])
			}
		}
		if f.Farmaco[0].Nome == "" || f.Farmaco[0].DataInizio.ToGoTime().IsZero() || s.Sintomo[0].Intensita == 0 {
			t.Fatalf("fields not mapped: %+v %+v", f.Farmaco[0], s.Sintomo[0])
		}
	})
	t.Run("filtro missing", func(t *testing.T) {
		code, body := h.call(ServiceTaccuino, "getEventi", seed.PatientB, &taccuino.GetEventi{}, nil)
		if code != CodeInvalid || !strings.Contains(faultStringOf(body), "filtro") {
			t.Fatalf("fault %q %q", code, faultStringOf(body))
		}
	})
}

func TestContractsAndPaths(t *testing.T) {
	h := startSim(t, nil)
	get := func(t *testing.T, path string) (int, string) {
		t.Helper()
		resp, err := h.client.Get(h.srv.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, prefix := range Prefixes {
		for _, svc := range Services {
			status, body := get(t, "/"+prefix+"/"+svc+"?wsdl")
			want := `location="` + h.srv.URL() + "/" + prefix + "/" + svc + `"`
			if status != http.StatusOK || !strings.Contains(body, want) {
				t.Fatalf("%s/%s?wsdl: HTTP %d, address not rewritten", prefix, svc, status)
			}
		}
	}
	if status, body := get(t, "/aslta/IDocument.xsd"); status != http.StatusOK || !strings.Contains(body, "addDocument") {
		t.Fatalf("xsd: HTTP %d", status)
	}
	for _, p := range []string{"/aslxx/IDocumentService?wsdl", "/aslba/Other?wsdl", "/aslba/IDocumentService", "/"} {
		if status, _ := get(t, p); status != http.StatusNotFound {
			t.Errorf("GET %s: HTTP %d, want 404", p, status)
		}
	}
	// Every tenant answers; an operation posted to the wrong service is refused.
	h.consent(patA, "C2", true)
	for _, prefix := range []string{"aslba_test", "aslfg"} {
		url := h.srv.ServiceURL(prefix, ServiceDocument)
		env := h.secure(ServiceDocument, "searchDocuments", patA, searchReq(patA), func(p *wssecParams) { p.To = url })
		if _, body := h.postURL(url, "searchDocuments", env); faultCode(body) != "" {
			t.Fatalf("%s: %s", prefix, faultStringOf(body))
		}
	}
	env := h.secure(ServiceTaccuino, "searchDocuments", patA, searchReq(patA), nil)
	if _, body := h.post(ServiceTaccuino, "searchDocuments", env); faultCode(body) != CodeInvalid {
		t.Fatalf("searchDocuments on ITaccuinoService: fault %q", faultCode(body))
	}
}

func TestClientConfigDecodesIntoAdapterConfig(t *testing.T) {
	h := startSim(t, nil)
	b, err := os.ReadFile(h.srv.ClientConfigPath())
	if err != nil {
		t.Fatal(err)
	}
	var c adapter.Config
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("client-config.json does not decode into adapter.Config: %v", err)
	}
	p := h.srv.Data().PKI
	if c.Environment != "local" || c.ASL != "aslba" || c.BaseURLs["local"] != h.srv.URL() || c.BaseURL != "" || c.Operator.CF != h.operatorCF() ||
		c.TLS.CertFile != p.Client.CertFile || c.TLS.CAFile == "" || c.Signer.KeyFile != p.Operator.KeyFile ||
		c.Structure.Code != StructureCode || c.Structure.RepositoryID == "" || c.Application.ID == "" {
		t.Fatalf("config %+v", c)
	}
	for _, f := range []string{c.TLS.CertFile, c.TLS.KeyFile, c.TLS.CAFile, c.Signer.CertFile, c.Signer.KeyFile} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("config names a missing file: %v", err)
		}
	}
	if !strings.Contains(h.log.all(), h.srv.ClientConfigPath()) || !strings.Contains(h.log.all(), h.srv.URL()) {
		t.Fatalf("start log lacks the config path or the URL:\n%s", h.log.all())
	}
}

func TestInjection(t *testing.T) {
	h := startSim(t, func(o *Options) {
		o.Inject = []inject.Rule{{Operation: "searchDocuments", Rate: 1, Kinds: []inject.Kind{inject.KindFault}, FaultCode: CodeUnavailable}}
	})
	h.consent(patA, "C2", true)
	if code, _ := h.call(ServiceDocument, "searchDocuments", patA, searchReq(patA), nil); code != CodeUnavailable {
		t.Fatalf("injected fault %q, want %s", code, CodeUnavailable)
	}
	// Other operations are untouched.
	var r consenso.StatoConsensiResponse
	h.mustOK(ServiceConsenso, "statoConsensi", patA, &consenso.StatoConsensi{Paziente: &consenso.PazienteType{CodiceFiscale: patA}}, &r)
	if n := h.srv.InjectCounts()["searchDocuments"][inject.KindFault]; n != 1 {
		t.Fatalf("injector counted %d faults", n)
	}
}

func TestMaxBody(t *testing.T) {
	h := startSim(t, func(o *Options) { o.MaxBody = 4096 })
	d := docFor(pdfcdatestPadded(patA, "max", 16<<10))
	code, body := h.call(ServiceDocument, "addDocument", patA, &document.AddDocument{Document: d}, nil)
	if code != CodeInvalid || !strings.Contains(faultStringOf(body), "larger than") {
		t.Fatalf("fault %q %q", code, faultStringOf(body))
	}
}
