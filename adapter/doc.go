// Package adapter is the Go API of fsepuglia: the one place integrators program against to
// reach Regione Puglia's FSE legacy SOAP services (IDocumentService, IGestoreConsensoService,
// ITaccuinoService) of a given environment and ASL.
//
// A Client is built from one Config (New validates it and fails early), is safe for
// concurrent use, and is meant to be reused: it holds one *http.Client with keep-alive so
// that consecutive calls share TLS connections. Its three services, Documents, Consents and
// Taccuino, take a context first and the project's own types; gowsdl's generated types never
// leave this package.
//
// Errors are typed at this boundary: a SOAP fault from the region is a *soapfault.Fault
// (code, text, actor, HTTP status, class), a transport failure a *soapfault.CallError; both
// work with errors.As. Bad input is a *InputError naming the field and the fix.
//
// Data flows one way: cmd → adapter → generated → wire. Sub-packages each do one job:
// endpoint (where each ASL's services live), transport (mutual TLS), wssec (WS-Addressing,
// WS-Security, signed SAML), soapfault (typed faults), retry (transient read retries),
// codicefiscale, pdfcda/cda/docmeta (documents), outbox (durable batches) and sim (the
// simulator of the three services).
package adapter
