package batch_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/batch"
	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sim"
)

// Publish a document durably against the simulator: record it in an outbox, send it, and
// see that giving it again sends nothing.
func Example() {
	dir, _ := os.MkdirTemp("", "batch-example-")
	defer os.RemoveAll(dir)
	srv, err := sim.Start(context.Background(), sim.Options{DataDir: filepath.Join(dir, "sim")})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	cfg, err := adapter.LoadConfig(srv.ClientConfigPath())
	if err != nil {
		log.Fatal(err)
	}
	client, err := adapter.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	// A signed PDF with its CDA inside; docmeta derives the metadata from it.
	path := filepath.Join(dir, "referto.pdf")
	body := pdfcdatest.PDF{Sign: true, Attachment: pdfcdatest.CDA{PatientCF: pdfcdatest.PatientCF}.Bytes()}.Bytes()
	os.WriteFile(path, body, 0o600)
	rep := docmeta.InspectBytes(body, "referto.pdf", docmeta.Options{})
	if err := rep.Err(); err != nil {
		log.Fatal(err)
	}

	pub, err := batch.Open(filepath.Join(dir, "outbox.db"), client.Documents)
	if err != nil {
		log.Fatal(err)
	}
	defer pub.Close()
	for range 2 {
		added, err := pub.Add(batch.File{Path: path, Metadata: rep.Metadata})
		if err != nil {
			log.Fatal(err)
		}
		sum, err := pub.Run(context.Background(), batch.Options{Concurrency: 4})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("new %d, already done %d: sent %d, in doubt %d\n", added.Added, added.AlreadyDone, sum.Sent, sum.InDoubt)
	}
	// Output:
	// new 1, already done 0: sent 1, in doubt 0
	// new 0, already done 1: sent 0, in doubt 0
}
