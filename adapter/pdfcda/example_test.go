package pdfcda_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/fsepuglia/fsepuglia/adapter/pdfcda"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
)

// Read a signed PDF from its file without reading the file into memory: the 10 MB stream
// that makes most of it is skipped by its /Length.
func ExampleReadAt() {
	dir, err := os.MkdirTemp("", "pdfcda")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "referto.pdf")
	pdf := pdfcdatest.PDF{Attachment: pdfcdatest.CDA{}.Bytes(), Sign: true, PadTo: 10 << 20}.Bytes()
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		log.Fatal(err)
	}

	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		log.Fatal(err)
	}
	doc, err := pdfcda.ReadAt(f, st.Size(), pdfcda.Limits{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(doc.Format, doc.Attachments, "CDA found:", doc.CDA != nil, "signatures:", len(doc.Signatures),
		"whole file signed:", doc.Signatures[0].CoversWholeFile)
	// Output: pdf [cda.xml] CDA found: true signatures: 1 whole file signed: true
}
