package adapter_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
	"github.com/fsepuglia/fsepuglia/adapter/fault"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sim"
)

// The examples run against the project's simulator (adapter/sim), which stands for the
// region: mutual TLS, WS-Security and signed SAML, as strict as the real services. With the
// region, cfg comes from your own configuration file instead (see LoadConfig).

// startSimulator starts a simulator in a temporary directory and returns the client
// configuration it wrote, read with adapter.LoadConfig, and a function that stops it.
func startSimulator() (adapter.Config, func()) {
	dir, err := os.MkdirTemp("", "fsepuglia-example-")
	if err != nil {
		log.Fatal(err)
	}
	srv, err := sim.Start(context.Background(), sim.Options{DataDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	cfg, err := adapter.LoadConfig(srv.ClientConfigPath())
	if err != nil {
		log.Fatal(err)
	}
	return cfg, func() { srv.Close(); os.RemoveAll(dir) }
}

// New checks the whole configuration (endpoints, certificates, keys, the production locks)
// before anything is sent; a mistake is an *adapter.ConfigError naming the field.
func ExampleNew() {
	cfg, stop := startSimulator()
	defer stop()

	c, err := adapter.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	url := c.Endpoint("IDocumentService")
	fmt.Println(url[strings.LastIndex(url, "/aslba/"):])

	cfg.TLS.CertFile = "/nonexistent/client.pem"
	_, err = adapter.New(cfg)
	var ce *adapter.ConfigError
	if errors.As(err, &ce) {
		fmt.Println("configuration error in", ce.Field)
	}
	// Output:
	// /aslba/IDocumentService
	// configuration error in tls.cert_file
}

// A search returns one page of the patient's documents. Consultation needs the patient's
// consent C2 (and C3 for documents produced before 2020-05-19).
func ExampleDocumentService_Search() {
	cfg, stop := startSimulator()
	defer stop()
	c, err := adapter.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	const patient = "FSEPGL01E41A145J" // a published test identity

	// A document to find: a signed PDF with its CDA inside; the metadata come from the CDA.
	body := pdfcdatest.PDF{Sign: true, Attachment: pdfcdatest.CDA{PatientCF: patient, IDExtension: "EXAMPLE.1"}.Bytes()}.Bytes()
	rep := docmeta.InspectBytes(body, "referto.pdf", docmeta.Options{Profile: docmeta.Profile{
		StructureCode: cfg.Structure.Code, StructureName: cfg.Structure.Name, RepositoryUniqueID: cfg.Structure.RepositoryID,
		HealthcareFacilityType: cfg.Structure.FacilityType, PracticeSettingCode: cfg.Structure.PracticeSetting}})
	if err := rep.Err(); err != nil {
		log.Fatal(err)
	}
	if _, err := c.Documents.Publish(ctx, adapter.PublishRequest{Metadata: rep.Metadata, Body: body, DocumentName: "referto.pdf"}); err != nil {
		log.Fatal(err)
	}
	if _, err := c.Consents.Set(ctx, adapter.ConsentChange{PatientCF: patient, Values: map[adapter.ConsentCode]bool{adapter.ConsentConsultation: true}}); err != nil {
		log.Fatal(err)
	}

	res, err := c.Documents.Search(ctx, adapter.SearchQuery{PatientCF: patient})
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range res.Documents {
		fmt.Println(d.UniqueID, d.TypeCode, d.ClassCode)
	}
	fmt.Println(res.Total, "document(s)")
	// Output:
	// 2.16.840.1.113883.2.9.2.160.4.4^EXAMPLE.1 11502-2 REF
	// 1 document(s)
}

// A fault of the region is a *fault.Fault: its Code is the region's (FSE-00451), its Class
// what to do about it. Here the patient has not given the consultation consent.
func Example_faultErrorsAs() {
	cfg, stop := startSimulator()
	defer stop()
	c, err := adapter.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	_, err = c.Documents.Search(context.Background(), adapter.SearchQuery{PatientCF: "FSEPGL01E41A145J"})
	var f *fault.Fault
	if errors.As(err, &f) {
		fmt.Println(f.Code, f.Class)
		if f.Class == fault.ConsentMissing {
			fmt.Println("record the consent first (Consents.Set), or stop here")
		}
	}
	var ce *fault.CallError
	fmt.Println("transport failure:", errors.As(err, &ce))
	// Output:
	// FSE-00451 consent-missing
	// record the consent first (Consents.Set), or stop here
	// transport failure: false
}
