package wiretest

import (
	"context"
	"time"

	"github.com/fsepuglia/fsepuglia/generated/consenso"
	"github.com/fsepuglia/fsepuglia/generated/document"
	"github.com/fsepuglia/fsepuglia/generated/taccuino"
	"github.com/hooklift/gowsdl/soap"
)

// Published test identities only; the operator CF is synthetic (valid check letter).
const (
	patientCF  = "FSEPGL01E41A145J"
	patient2CF = "FSELBR01C41A145S"
	operatorCF = "OPRFSE80A01A662X"
	docUID     = "2.16.840.1.113883.2.9.2.160.4.4^0000000000000001"
	repoUID    = "2.16.840.1.113883.2.9.2.160.4.5.1"
)

// samplePDF is a tiny stand-in for a PDF (its base64 starts with JVBERi0, as observed).
var samplePDF = []byte("%PDF-1.7\n% fsepuglia wire test\n%%EOF\n")

func dt(y int, m time.Month, d, h int) soap.XSDDateTime {
	return soap.CreateXsdDateTime(time.Date(y, m, d, h, 0, 0, 0, time.UTC), true)
}

func day(y int, m time.Month, d int) soap.XSDDate {
	return soap.CreateXsdDate(time.Date(y, m, d, 0, 0, 0, 0, time.UTC), false)
}

func metadata() *document.DocumentMetadataType {
	return &document.DocumentMetadataType{
		PatientId:                  patientCF + "^^^&2.16.840.1.113883.2.9.4.3.2&ISO",
		UniqueId:                   docUID,
		RepositoryUniqueId:         repoUID,
		TypeCode:                   "11502-2",
		ClassCode:                  "REF",
		FormatCode:                 "2.16.840.1.113883.2.9.10.1.1",
		PracticeSettingCode:        "AD_PSC001",
		HealthcareFacilityTypeCode: "Ospedale",
		ConfidentialityCode:        "N",
		EventCodeList:              []string{"P99"},
		ServiceStartTime:           dt(2024, time.March, 1, 8),
		AuthorInstitution:          "ASL BARI^^^^^&2.16.840.1.113883.2.9.4.1.3&ISO^^^^160114",
		AuthorPerson:               operatorCF + "^^^^^^^^&2.16.840.1.113883.2.9.4.3.2&ISO",
		AdministrativeRequest:      []string{"SSN", "INPATIENT"},
		MimeType:                   "application/pdf",
		Hash:                       "0c0d4e2f1b8a5d3c6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5",
		Size:                       int64(len(samplePDF)),
		CreationTime:               dt(2024, time.March, 1, 10),
		Title:                      "Referto di laboratorio",
		LanguageCode:               "it-IT",
	}
}

func publication() *document.PublicationResultType {
	return &document.PublicationResultType{UniqueId: docUID, RepositoryUniqueId: repoUID, Status: document.DocumentStatusTypeApproved}
}

// wireCase is one operation: how to call it through the generated client, and
// the response the server answers with.
type wireCase struct {
	op       string
	xsd      string
	call     func(ctx context.Context, c *soap.Client) (any, error)
	response any
	// request and fresh return zero values of the request/response types, for decoding.
	request func() any
	fresh   func() any
	// contains lists fragments the request payload must contain (required zero values, base64 ...).
	contains []string
}

func cases() []wireCase {
	md := metadata()
	stored := metadata()
	stored.Status = document.DocumentStatusTypeApproved

	consRich := &consenso.RichiedenteType{CodiceFiscale: operatorCF, Ruolo: "OGC", Struttura: "160114",
		Organizzazione: "160", ContestoOperativo: "CONSENT", PresaInCarico: false, Attivita: "UPDATE"}
	tacRich := &taccuino.RichiedenteType{CodiceFiscale: operatorCF, Ruolo: "APR", Struttura: "160114",
		Organizzazione: "160", ContestoOperativo: "TREATMENT", PresaInCarico: true, Attivita: "READ"}
	filtro := &taccuino.FiltroTaccuinoType{CodiceFiscalePaziente: patientCF,
		DataDa: day(2024, time.January, 1), DataA: day(2024, time.December, 31), Offset: 0, Limit: 20}

	doc := func(status document.DocumentStatusType) *document.DocumentType {
		return &document.DocumentType{Document: document.Base64Binary(samplePDF), DocumentName: "Referto", Status: status}
	}
	b64PDF := "JVBERi0xLjcKJSBmc2VwdWdsaWEgd2lyZSB0ZXN0CiUlRU9GCg=="
	const q = "http://www.sist.puglia.it/Schemas/PDD_SIST/SCATEL/FSE/"

	return []wireCase{
		{
			op: "addDocument", xsd: "IDocument.xsd",
			call: func(ctx context.Context, c *soap.Client) (any, error) {
				return document.NewIDocument(c).AddDocumentContext(ctx, &document.AddDocument{Document: doc(document.DocumentStatusTypeApproved)})
			},
			response: &document.AddDocumentResponse{Result: publication()},
			request:  func() any { return new(document.AddDocument) },
			fresh:    func() any { return new(document.AddDocumentResponse) },
			contains: []string{`<document xmlns="` + q + `"><document xmlns="` + q + `">` + b64PDF + "</document>", ">Referto</documentName>", ">Approved</status>"},
		},
		{
			op: "replaceDocument", xsd: "IDocument.xsd",
			call: func(ctx context.Context, c *soap.Client) (any, error) {
				return document.NewIDocument(c).ReplaceDocumentContext(ctx, &document.ReplaceDocument{
					ReplacedUniqueId: "2.16.840.1.113883.2.9.2.160.4.4^0000000000000000", Document: doc(document.DocumentStatusTypeApproved)})
			},
			response: &document.ReplaceDocumentResponse{Result: publication()},
			request:  func() any { return new(document.ReplaceDocument) },
			fresh:    func() any { return new(document.ReplaceDocumentResponse) },
			contains: []string{">" + b64PDF + "</document>"},
		},
		{
			op: "deleteDocument", xsd: "IDocument.xsd",
			call: func(ctx context.Context, c *soap.Client) (any, error) {
				return document.NewIDocument(c).DeleteDocumentContext(ctx, &document.DeleteDocument{UniqueId: docUID, PatientId: md.PatientId})
			},
			response: &document.DeleteDocumentResponse{Result: &document.PublicationResultType{UniqueId: docUID, RepositoryUniqueId: repoUID, Status: document.DocumentStatusTypeDeprecated}},
			request:  func() any { return new(document.DeleteDocument) },
			fresh:    func() any { return new(document.DeleteDocumentResponse) },
		},
		{
			op: "searchDocuments", xsd: "IDocument.xsd",
			call: func(ctx context.Context, c *soap.Client) (any, error) {
				return document.NewIDocument(c).SearchDocumentsContext(ctx, &document.SearchDocuments{PatientId: md.PatientId,
					DateFrom: dt(2024, time.January, 1, 0), DateTo: dt(2024, time.December, 31, 0),
					TypeCode: []string{"11502-2", "68604-8"}, ClassCode: []string{"REF"}, Status: document.DocumentStatusTypeApproved,
					Offset: 0, Limit: 50})
			},
			response: &document.SearchDocumentsResponse{Total: 1, Metadata: []*document.DocumentMetadataType{stored}},
			request:  func() any { return new(document.SearchDocuments) },
			fresh:    func() any { return new(document.SearchDocumentsResponse) },
			contains: []string{`<offset xmlns="` + q + `">0</offset>`, ">11502-2</typeCode>", ">68604-8</typeCode>"},
		},
		{
			op: "retrieveDocument", xsd: "IDocument.xsd",
			call: func(ctx context.Context, c *soap.Client) (any, error) {
				return document.NewIDocument(c).RetrieveDocumentContext(ctx, &document.RetrieveDocument{UniqueId: docUID})
			},
			response: &document.RetrieveDocumentResponse{Metadata: stored, Document: &document.DocumentType{Document: document.Base64Binary(samplePDF), DocumentName: "Referto", Status: document.DocumentStatusTypeApproved}},
			request:  func() any { return new(document.RetrieveDocument) },
			fresh:    func() any { return new(document.RetrieveDocumentResponse) },
		},
		{
			op: "statoConsensi", xsd: "IGestoreConsenso.xsd",
			call: func(ctx context.Context, c *soap.Client) (any, error) {
				return consenso.NewIGestoreConsenso(c).StatoConsensiContext(ctx, &consenso.StatoConsensi{Richiedente: consRich,
					Paziente: &consenso.PazienteType{CodiceFiscale: patient2CF},
					Tutore:   &consenso.TutoreType{CodiceFiscale: patientCF, Ruolo: consenso.RuoloTutoreTypeGEN}})
			},
			response: &consenso.StatoConsensiResponse{Esito: consenso.EsitoTypeSUCCESSO, Consenso: []*consenso.StatoConsensoType{
				{Codice: "C1", Valore: true, DataAcquisizione: dt(2020, time.May, 19, 0), RegistratoDa: operatorCF, RuoloRegistrante: "OGC"},
				{Codice: "C2", Valore: true, DataAcquisizione: dt(2024, time.March, 1, 9), RegistratoDa: patientCF, RuoloRegistrante: "GEN"},
				{Codice: "C3", Valore: false, DataAcquisizione: dt(2024, time.March, 1, 9), RegistratoDa: patientCF, RuoloRegistrante: "GEN"},
			}},
			request: func() any { return new(consenso.StatoConsensi) },
			fresh:   func() any { return new(consenso.StatoConsensiResponse) },
		},
		{
			op: "comunicazioneConsensi", xsd: "IGestoreConsenso.xsd",
			call: func(ctx context.Context, c *soap.Client) (any, error) {
				return consenso.NewIGestoreConsenso(c).ComunicazioneConsensiContext(ctx, &consenso.ComunicazioneConsensi{Richiedente: consRich,
					Paziente: &consenso.PazienteType{CodiceFiscale: patientCF}, IdInformativa: "160^2",
					Consenso: []*consenso.ConsensoType{{Codice: "C2", Valore: true}, {Codice: "C3", Valore: false}, {Codice: "C4", Valore: false}}})
			},
			response: &consenso.ComunicazioneConsensiResponse{Esito: consenso.EsitoTypeFALLIMENTO,
				Errori: []*consenso.ErroreType{{Codice: "FSE-00400", Descrizione: "consenso: codice C9 non valido"}}},
			request:  func() any { return new(consenso.ComunicazioneConsensi) },
			fresh:    func() any { return new(consenso.ComunicazioneConsensiResponse) },
			contains: []string{">C3</codice>", `<valore xmlns="` + q + `">false</valore>`},
		},
		{
			op: "recuperoInformativa", xsd: "IGestoreConsenso.xsd",
			call: func(ctx context.Context, c *soap.Client) (any, error) {
				return consenso.NewIGestoreConsenso(c).RecuperoInformativaContext(ctx, &consenso.RecuperoInformativa{Richiedente: consRich})
			},
			response: &consenso.RecuperoInformativaResponse{Esito: consenso.EsitoTypeSUCCESSO, IdInformativa: "160^2", Versione: "2", Pdf: consenso.Base64Binary(samplePDF)},
			request:  func() any { return new(consenso.RecuperoInformativa) },
			fresh:    func() any { return new(consenso.RecuperoInformativaResponse) },
		},
		{
			op: "getTaccuino", xsd: "ITaccuino.xsd",
			call: func(ctx context.Context, c *soap.Client) (any, error) {
				return taccuino.NewITaccuino(c).GetTaccuinoContext(ctx, &taccuino.GetTaccuino{Richiedente: tacRich, Filtro: filtro})
			},
			response: &taccuino.GetTaccuinoResponse{Total: 2, Conteggio: []*taccuino.ConteggioType{
				{Tipo: taccuino.TipoElementoTypeRILEVAZIONE, Numero: 12}, {Tipo: taccuino.TipoElementoTypeFARMACO, Numero: 0}}},
			request:  func() any { return new(taccuino.GetTaccuino) },
			fresh:    func() any { return new(taccuino.GetTaccuinoResponse) },
			contains: []string{">2024-01-01</dataDa>", `<offset xmlns="` + q + `">0</offset>`},
		},
		{
			op: "getRilevazioni", xsd: "ITaccuino.xsd",
			call: func(ctx context.Context, c *soap.Client) (any, error) {
				return taccuino.NewITaccuino(c).GetRilevazioniContext(ctx, &taccuino.GetRilevazioni{Richiedente: tacRich, Filtro: filtro})
			},
			response: &taccuino.GetRilevazioniResponse{Total: 1, Rilevazione: []*taccuino.RilevazioneType{
				{Id: "R1", Data: dt(2024, time.February, 2, 7), Parametro: "PRESSIONE_SISTOLICA", Valore: "130", UnitaMisura: "mm[Hg]"}}},
			request: func() any { return new(taccuino.GetRilevazioni) },
			fresh:   func() any { return new(taccuino.GetRilevazioniResponse) },
		},
		{
			op: "getFarmaci", xsd: "ITaccuino.xsd",
			call: func(ctx context.Context, c *soap.Client) (any, error) {
				return taccuino.NewITaccuino(c).GetFarmaciContext(ctx, &taccuino.GetFarmaci{Richiedente: tacRich, Filtro: filtro})
			},
			response: &taccuino.GetFarmaciResponse{Total: 1, Farmaco: []*taccuino.FarmacoType{
				{Id: "F1", DataInizio: day(2024, time.January, 10), Nome: "Paracetamolo 500 mg", CodiceAIC: "012745093", Posologia: "1 cp al bisogno"}}},
			request: func() any { return new(taccuino.GetFarmaci) },
			fresh:   func() any { return new(taccuino.GetFarmaciResponse) },
		},
		{
			op: "getEventi", xsd: "ITaccuino.xsd",
			call: func(ctx context.Context, c *soap.Client) (any, error) {
				return taccuino.NewITaccuino(c).GetEventiContext(ctx, &taccuino.GetEventi{Richiedente: tacRich, Filtro: filtro})
			},
			response: &taccuino.GetEventiResponse{Total: 0},
			request:  func() any { return new(taccuino.GetEventi) },
			fresh:    func() any { return new(taccuino.GetEventiResponse) },
		},
		{
			op: "getSintomi", xsd: "ITaccuino.xsd",
			call: func(ctx context.Context, c *soap.Client) (any, error) {
				return taccuino.NewITaccuino(c).GetSintomiContext(ctx, &taccuino.GetSintomi{Richiedente: tacRich, Filtro: filtro})
			},
			response: &taccuino.GetSintomiResponse{Total: 1, Sintomo: []*taccuino.SintomoType{
				{Id: "S1", Data: dt(2024, time.April, 4, 20), Descrizione: "Cefalea", Intensita: 0}}},
			request: func() any { return new(taccuino.GetSintomi) },
			fresh:   func() any { return new(taccuino.GetSintomiResponse) },
		},
		{
			op: "getDocumentiPersonali", xsd: "ITaccuino.xsd",
			call: func(ctx context.Context, c *soap.Client) (any, error) {
				return taccuino.NewITaccuino(c).GetDocumentiPersonaliContext(ctx, &taccuino.GetDocumentiPersonali{Richiedente: tacRich, Filtro: filtro})
			},
			response: &taccuino.GetDocumentiPersonaliResponse{Total: 1, DocumentoPersonale: []*taccuino.DocumentoPersonaleType{
				{Id: "D1", Data: dt(2024, time.May, 5, 11), Titolo: "Esame privato", Tipo: "REFERTO", MimeType: "application/pdf", Size: 123456}}},
			request: func() any { return new(taccuino.GetDocumentiPersonali) },
			fresh:   func() any { return new(taccuino.GetDocumentiPersonaliResponse) },
		},
	}
}
