// Package wiretest locks the wire format of the generated SOAP packages
// (generated/document, generated/consenso, generated/taccuino) with golden
// envelopes in fixtures/envelopes, validated by an independent XSD validator
// (xmllint). It holds tests only; the generator never writes here.
package wiretest
