package inject

import (
	"net/http"
	"strconv"

	"github.com/fsepuglia/fsepuglia/adapter/fault"
	"github.com/fsepuglia/fsepuglia/wsdl"
)

// Namespaces of the fault envelope.
const (
	NSSoap = "http://schemas.xmlsoap.org/soap/envelope/"
	NSFSE  = wsdl.Namespace
)

// FaultString returns "FSE-NNNNN - <text>" for a fault code (the one table of texts is
// adapter/fault's).
func FaultString(code string) string { return fault.FaultString(code, "") }

// FaultEnvelope builds the SOAP 1.1 fault in the observed shape (adapter/fault.Envelope,
// wsdl/FAULTS.md): faultcode a:Client for FSE-004xx and a:Server otherwise, faultstring
// "FSE-NNNNN - <text>", faultactor = actor (the portType name), detail errorCode and
// errorMessage; E000231 in its own shape (#2501).
func FaultEnvelope(code, actor string) []byte {
	return fault.Envelope(fault.EnvelopeParams{Code: code, Actor: actor})
}

// WriteFault answers HTTP 500 with FaultEnvelope (SOAP 1.1 faults travel on 500).
func WriteFault(w http.ResponseWriter, code, actor string) {
	body := FaultEnvelope(code, actor)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write(body)
}
