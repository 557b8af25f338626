package soapdec_test

import (
	"fmt"

	"github.com/fsepuglia/fsepuglia/adapter/internal/soapdec"
	"github.com/fsepuglia/fsepuglia/generated/consenso"
)

// Decode fills gowsdl's response type from the answer, or returns its Fault.
func ExampleDecode() {
	answer := []byte(`<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>` +
		`<ns2:statoConsensiResponse xmlns:ns2="http://www.sist.puglia.it/Schemas/PDD_SIST/SCATEL/FSE/">` +
		`<ns2:esito>SUCCESSO</ns2:esito><ns2:consenso><ns2:codice>C2</ns2:codice><ns2:valore>true</ns2:valore></ns2:consenso>` +
		`</ns2:statoConsensiResponse></S:Body></S:Envelope>`)
	var out consenso.StatoConsensiResponse
	fault, err := soapdec.Decode(answer, &out)
	fmt.Println(fault, err, out.Esito, out.Consenso[0].Codice, out.Consenso[0].Valore)

	refusal := []byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>` +
		`<faultcode>soap:Client</faultcode><faultstring>FSE-00404 - Documento non trovato</faultstring></soap:Fault></soap:Body></soap:Envelope>`)
	fault, err = soapdec.Decode(refusal, new(consenso.StatoConsensiResponse))
	fmt.Println(fault.Code, fault.String, err)
	// Output:
	// <nil> <nil> SUCCESSO C2 true
	// soap:Client FSE-00404 - Documento non trovato <nil>
}
