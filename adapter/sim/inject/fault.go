package inject

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
)

// Namespaces of the fault envelope.
const (
	NSSoap = "http://schemas.xmlsoap.org/soap/envelope/"
	NSFSE  = "http://www.sist.puglia.it/Schemas/PDD_SIST/SCATEL/FSE"
)

// faultTexts are the project's fault texts by code.
var faultTexts = map[string]string{
	"FSE-00000": "Errore generico",
	"FSE-00231": "Il codice fiscale della smart card non corrisponde a quello dell'operatore",
	"FSE-00400": "Richiesta non valida",
	"FSE-00401": "Intestazione WS-Security assente o non valida",
	"FSE-00402": "MessageID già utilizzato",
	"FSE-00404": "Documento non trovato",
	"FSE-00407": "Asserzioni applicative obbligatorie mancanti o non valide",
	"FSE-00409": "Documento già pubblicato",
	"FSE-00415": "Il documento non è pdf",
	"FSE-00422": "Contenuto del documento non coerente",
	"FSE-00451": "Consultazione negata",
	"FSE-00503": "Servizio temporaneamente non disponibile",
}

// FaultString returns "FSE-NNNNN - <text>" for a project fault code.
func FaultString(code string) string {
	t, ok := faultTexts[code]
	if !ok {
		t = "Errore"
	}
	return code + " - " + t
}

// faultCodeQName is soap:Client for request problems (FSE-004xx) and soap:Server otherwise.
func faultCodeQName(code string) string {
	if n, err := strconv.Atoi(strings.TrimPrefix(code, "FSE-")); err == nil && n >= 400 && n < 500 {
		return "soap:Client"
	}
	return "soap:Server"
}

func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// FaultEnvelope builds the SOAP 1.1 fault in the project's shape: faultcode soap:Client for
// FSE-004xx and soap:Server otherwise, faultstring "FSE-NNNNN - <text>", faultactor = actor
// (the portType name), detail/fse:errorCode.
func FaultEnvelope(code, actor string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>` +
		`<soap:Envelope xmlns:soap="` + NSSoap + `"><soap:Body><soap:Fault>` +
		`<faultcode>` + faultCodeQName(code) + `</faultcode>` +
		`<faultstring>` + esc(FaultString(code)) + `</faultstring>` +
		`<faultactor>` + esc(actor) + `</faultactor>` +
		`<detail><fse:errorCode xmlns:fse="` + NSFSE + `">` + esc(code) + `</fse:errorCode></detail>` +
		`</soap:Fault></soap:Body></soap:Envelope>`)
}

// WriteFault answers HTTP 500 with FaultEnvelope (SOAP 1.1 faults travel on 500).
func WriteFault(w http.ResponseWriter, code, actor string) {
	body := FaultEnvelope(code, actor)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write(body)
}
