package batch_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/batch"
	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
	"github.com/fsepuglia/fsepuglia/adapter/fault"
	"github.com/fsepuglia/fsepuglia/adapter/outbox"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sim"
)

// A file changed after it was recorded is refused before it is sent, also when the sender
// leaves the hash check to the library (*adapter.DocumentService verifies it), and the region
// never gets it; an unchanged one beside it is published.
func TestChangedFileNotSentThroughLibrary(t *testing.T) {
	dir := t.TempDir()
	srv, err := sim.Start(context.Background(), sim.Options{DataDir: filepath.Join(dir, "sim")})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cfg, err := adapter.LoadConfig(srv.ClientConfigPath())
	if err != nil {
		t.Fatal(err)
	}
	client, err := adapter.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	pub, err := batch.Open(filepath.Join(dir, "outbox.db"), client.Documents)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	var files []batch.File
	for _, ext := range []string{"VERIFY.1", "VERIFY.2"} {
		path := filepath.Join(dir, ext+".pdf")
		body := pdfcdatest.PDF{Sign: true, Attachment: pdfcdatest.CDA{PatientCF: pdfcdatest.PatientCF, IDExtension: ext}.Bytes()}.Bytes()
		if err := os.WriteFile(path, body, 0o600); err != nil {
			t.Fatal(err)
		}
		rep := docmeta.InspectBytes(body, filepath.Base(path), docmeta.Options{})
		if err := rep.Err(); err != nil {
			t.Fatal(err)
		}
		files = append(files, batch.File{Path: path, Metadata: rep.Metadata})
	}
	if _, err := pub.Add(files...); err != nil {
		t.Fatal(err)
	}
	// The first file changes after it was recorded (same size: only the hash tells).
	b, _ := os.ReadFile(files[0].Path)
	b[len(b)-2] ^= 1
	if err := os.WriteFile(files[0].Path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	sum, err := pub.Run(context.Background(), batch.Options{Concurrency: 1})
	if err != nil || sum.Sent != 1 || sum.Failed != 1 {
		t.Fatalf("Run = %+v, %v; want 1 sent, 1 failed", sum, err)
	}
	items, err := pub.Outbox().Items()
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		switch it.UniqueID {
		case files[0].Metadata.UniqueID:
			if it.State != outbox.Failed || it.Retryable || !strings.Contains(it.Reason, "changed since it was recorded") {
				t.Errorf("changed file: %s retryable=%v %q", it.State, it.Retryable, it.Reason)
			}
		case files[1].Metadata.UniqueID:
			if it.State != outbox.Done {
				t.Errorf("unchanged file: %s %q", it.State, it.Reason)
			}
		}
	}
	// At the region (consultation consent given to look): the unchanged one is there, the
	// changed one is not.
	if _, err := client.Consents.Set(context.Background(), adapter.ConsentChange{PatientCF: pdfcdatest.PatientCF,
		Values: map[adapter.ConsentCode]bool{"C1": true, "C2": true}, InformativaID: "160^1.0"}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Documents.Retrieve(context.Background(), pdfcdatest.PatientCF, files[1].Metadata.UniqueID); err != nil {
		t.Fatalf("retrieve the published one: %v", err)
	}
	_, err = client.Documents.Retrieve(context.Background(), pdfcdatest.PatientCF, files[0].Metadata.UniqueID)
	if !batch.IsClass(err, fault.NotFound) {
		t.Fatalf("retrieve the changed one: %v, want not found", err)
	}
}
