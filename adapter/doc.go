// Package adapter is the Go API of fsepuglia: the one place integrators program against to
// reach Regione Puglia's FSE legacy SOAP services (IDocumentService, IGestoreConsensoService,
// ITaccuinoService) of a given environment and ASL.
//
// A Client is built from one Config (LoadConfig reads it from a JSON file; New validates
// everything first and fails early), is safe for concurrent use, and is meant to be reused:
// it holds one *http.Client with keep-alive so that consecutive calls share TLS connections.
// Its three services, Documents, Consents and Taccuino, take a context first and the
// project's own types; gowsdl's generated types never leave this package.
//
//	cfg, err := adapter.LoadConfig("/etc/fsepuglia/config.json")
//	if err != nil {
//		return err // *adapter.ConfigError: the file, the line, the key
//	}
//	c, err := adapter.New(cfg, adapter.WithLogger(myLogger))
//	if err != nil {
//		return err // *adapter.ConfigError naming the field and the fix
//	}
//	defer c.Close()
//	res, err := c.Documents.Search(ctx, adapter.SearchQuery{PatientCF: cf})
//	var f *fault.Fault
//	if errors.As(err, &f) && f.Class == fault.ConsentMissing {
//		// record the consent first (c.Consents.Set), or stop here
//	}
//
// Errors are typed at this boundary and work with errors.As: a SOAP fault of the region is a
// *fault.Fault (code, text, actor, HTTP status, class), a call that did not complete a
// *fault.CallError, a configuration mistake an *adapter.ConfigError (field, message, fix),
// bad input caught before sending an *InputError naming the field and the fix. Reads are
// retried on transient failures with bounded backoff; writes never.
//
// Data flows one way: cmd → adapter → generated → wire. Sub-packages each do one job:
// endpoint (where each ASL's services live), transport (mutual TLS), wssec and wssec/saml
// (WS-Addressing, WS-Security, signed SAML), fault (typed faults), retry (transient read
// retries), trace (redacted envelopes for support tickets), codicefiscale, xds (document
// metadata), pdfcda, cda and docmeta (reading documents and deriving their metadata),
// pdfattach and pdfupdate (embedding the CDA), sign, xades, pades, cades, cms and signeddoc
// (signing and verifying), outbox and batch (durable publication: batch.Open, Add and Run
// give a Go program what `fsepuglia publish` does), queue (the durable work queue of
// `fsepuglia serve`), gateway (the FSE 2.0 middleware's REST API) and sim (the simulator of
// the services).
//
// The examples run against the simulator, which is what the tests and `make demo` use too.
package adapter
