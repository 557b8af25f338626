package gateway_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
	"github.com/fsepuglia/fsepuglia/adapter/gateway"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sim/middleware"
	"github.com/fsepuglia/fsepuglia/adapter/sim/pki"
	"github.com/fsepuglia/fsepuglia/adapter/transport"
)

// Example_validate validates an unsigned PDF with its cda.xml at the (simulated) middleware
// over mutual TLS, then looks its transaction up.
func Example_validate() {
	dir, _ := os.MkdirTemp("", "gateway-example-")
	defer os.RemoveAll(dir)
	p, err := pki.Ensure(dir, pki.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	sim, _ := middleware.New(middleware.Options{Roots: p.SignerRoots()})
	srv := httptest.NewUnstartedServer(sim)
	srv.TLS = p.ServerTLSConfig()
	srv.StartTLS()
	defer srv.Close()

	// The shared transport: the structure's certificate for mutual TLS.
	hc, _, err := transport.New(transport.Config{Environment: "local", CertFile: p.Client.CertFile, KeyFile: p.Client.KeyFile,
		CAFile: filepath.Join(p.Dir, pki.FileCACert)})
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := gateway.New(gateway.Config{BaseURL: srv.URL + middleware.PathPrefix},
		gateway.Identity{OperatorCF: "PROVAX00X00X000Y", Role: "AAS", StructureName: "Struttura di prova", StructureCode: "160101",
			ApplicationID: "example", ApplicationVendor: "fsepuglia", ApplicationVersion: "1.0"},
		// The same certificate signs both JWTs (x5c).
		gateway.Options{HTTPClient: hc, Key: p.Client.Key, Chain: []*x509.Certificate{p.Client.Cert}, Environment: "local"})
	if err != nil {
		fmt.Println(err)
		return
	}
	pdf := pdfcdatest.PDF{Attachment: pdfcdatest.CDA{}.Bytes()}.Bytes()
	doc, _, err := gateway.NewDocument(pdf, "referto.pdf", docmeta.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := c.Validate(context.Background(), gateway.ValidateRequest{Document: doc})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.HTTPStatus, gateway.WorkflowIDPattern.MatchString(res.WorkflowInstanceID), len(res.Warnings))
	st, err := c.Status(context.Background(), res.WorkflowInstanceID)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(st.Events[0].EventType, st.Events[0].EventStatus)
	// Output:
	// 201 true 0
	// VALIDATION SUCCESS
}

// ExampleSplitWarnings separates the national gateway's warning from the middleware's.
func ExampleSplitWarnings() {
	for _, w := range gateway.SplitWarnings("[W001] controllo--middlewarewarning--[MW] avviso regionale") {
		fmt.Printf("%s: %s\n", w.Source, w.Text)
	}
	// Output:
	// gateway: [W001] controllo
	// middleware: [MW] avviso regionale
}
