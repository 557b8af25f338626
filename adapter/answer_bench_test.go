package adapter

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/hooklift/gowsdl/soap"

	"github.com/fsepuglia/fsepuglia/adapter/internal/testenv"
	"github.com/fsepuglia/fsepuglia/adapter/wssec/saml"
	"github.com/fsepuglia/fsepuglia/generated/document"
)

// BenchmarkSearchAnswer50 is a signed searchDocuments through the whole client whose answer
// is the simulator's 50 documents (fixtures/answers/search50.response.xml, 107 KB, served
// canned by the fake region, which does not verify the request): soapdec is the client as
// it is; gowsdl the same call with the answer decoded by gowsdl's encoding/xml (the
// generated method called without into). The difference is what soapdec saves per call.
func BenchmarkSearchAnswer50(b *testing.B) {
	answer, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(b), "fixtures/answers/search50.response.xml"))
	if err != nil {
		b.Fatal(err)
	}
	r := newRegion(b)
	r.fail = func(string, int) (int, string) { return 200, string(answer) }
	c, err := New(r.config())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	in := &document.SearchDocuments{PatientId: patientID(patient), Limit: 100}
	attrs := &saml.Attributes{PatientCF: patient, Consent: true}
	b.Run("gowsdl", func(b *testing.B) {
		for b.Loop() {
			var out *document.SearchDocumentsResponse
			if _, err := c.do(ctx, opSearchDocuments, attrs, func(ctx context.Context, sc *soap.Client) (err error) {
				out, err = document.NewIDocument(sc).SearchDocumentsContext(ctx, in)
				return err
			}); err != nil || len(out.Metadata) != 50 {
				b.Fatal(err)
			}
		}
	})
	b.Run("soapdec", func(b *testing.B) {
		for b.Loop() {
			res, err := c.Documents.Search(ctx, SearchQuery{PatientCF: patient, Limit: 100})
			if err != nil || len(res.Documents) != 50 {
				b.Fatal(err)
			}
		}
	})
}
