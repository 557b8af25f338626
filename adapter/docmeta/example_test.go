package docmeta_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
)

// Inspect a document from its file, as `fsepuglia publish` does before recording it: the file
// is hashed as it is read and never held in memory.
func ExampleInspectFile() {
	dir, err := os.MkdirTemp("", "docmeta")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "referto.pdf")
	pdf := pdfcdatest.PDF{Attachment: pdfcdatest.CDA{}.Bytes(), Sign: true}.Bytes()
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		log.Fatal(err)
	}

	r, err := docmeta.InspectFile(path, docmeta.Options{RequireSignature: true})
	if err != nil {
		log.Fatal(err) // the file could not be read
	}
	if err := r.Err(); err != nil {
		log.Fatal(err) // a pre-flight check failed: the error names each one and its fix
	}
	fmt.Println(r.Name, r.Format, "signed:", r.Signed, "type:", r.Metadata.TypeCode, "class:", r.Metadata.ClassCode, "size matches:", r.Size == int64(len(pdf)))
	// Output: referto.pdf pdf signed: true type: 11502-2 class: REF size matches: true
}
