package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter"
	fsefault "github.com/fsepuglia/fsepuglia/adapter/fault"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sim/store"
)

// TestGoClientAgainstSimulator runs the project's Go client (package adapter), configured
// only from the client-config.json the simulator wrote, through every service.
func TestGoClientAgainstSimulator(t *testing.T) {
	h := startSim(t, nil)
	b, err := os.ReadFile(h.srv.ClientConfigPath())
	if err != nil {
		t.Fatal(err)
	}
	var cfg adapter.Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	c, err := adapter.New(cfg)
	if err != nil {
		t.Fatalf("adapter.New with the simulator's config: %v", err)
	}
	defer c.Close()
	ctx := context.Background()
	if _, err := c.Consents.Informativa(ctx); err != nil {
		t.Fatalf("Informativa: %v", err)
	}
	if _, err := c.Consents.Set(ctx, adapter.ConsentChange{PatientCF: patA, Values: map[adapter.ConsentCode]bool{"C2": true, "C3": true}}); err != nil {
		t.Fatalf("Set: %v", err)
	}
	st, err := c.Consents.Status(ctx, patA)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if len(st.Consents) != 2 {
		t.Fatalf("status %+v, want C2 and C3", st)
	}
	uid := uidRoot + "client.1"
	body := pdfFor(patA, uid)
	res, err := c.Documents.Publish(ctx, adapter.PublishRequest{Body: body, DocumentName: "referto.pdf", Metadata: adapter.Metadata{
		PatientCF: patA, UniqueID: uid, TypeCode: "11502-2", ClassCode: "REF", FormatCode: "2.16.840.1.113883.2.9.10.1.1",
		PracticeSettingCode: StructurePractice, HealthcareFacilityType: StructureFacilityType, ConfidentialityCode: "N",
		AuthorPerson: "autore", MimeType: "application/pdf", CreationTime: recent, Title: "Referto", LanguageCode: "it-IT",
		AuthorInstitutionCode: StructureCode,
	}})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if res.UniqueID != uid {
		t.Fatalf("publish %+v", res)
	}
	if m, err := h.srv.Data().Store.Meta(uid); err != nil || m.PublishedBy != StructureCode || m.Size != int64(len(body)) {
		t.Fatalf("stored %+v, %v", m, err)
	}
	sr, err := c.Documents.Search(ctx, adapter.SearchQuery{PatientCF: patA, Limit: 10})
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	if sr.Total != 1 || len(sr.Documents) != 1 || sr.Documents[0].UniqueID != uid {
		t.Fatalf("search %+v", sr)
	}
	d, err := c.Documents.Retrieve(ctx, patA, uid)
	if err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	if !bytes.Equal(d.Body, body) {
		t.Fatal("retrieved body differs")
	}
	if err := c.Documents.Delete(ctx, patA, uid); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := c.Documents.Delete(ctx, patA, uid); err == nil || !strings.Contains(err.Error(), CodeNotFound) {
		t.Fatalf("second Delete: %v, want %s", err, CodeNotFound)
	}
	sum, err := c.Taccuino.Summary(ctx, patB)
	if err != nil {
		t.Fatalf("Summary: %v", err)
	}
	counts, _ := h.srv.Data().Store.TaccuinoCounts(patB)
	if n := sum.Counts[adapter.TaccuinoRilevazioni]; n != counts[store.KindRilevazioni] || n == 0 {
		t.Fatalf("summary %+v, store %v", sum, counts)
	}
	page, err := c.Taccuino.Items(ctx, adapter.TaccuinoQuery{PatientCF: patB, Kind: adapter.TaccuinoRilevazioni, Limit: 3})
	if err != nil {
		t.Fatalf("Items: %v", err)
	}
	if page.Total != counts[store.KindRilevazioni] || len(page.Items) != 3 {
		t.Fatalf("items: total %d, %d items", page.Total, len(page.Items))
	}
}

// TestGoClientDecodesSimulatorRefusals: the Go client, configured from the simulator's
// client-config.json, gets the simulator's pre-publication refusals (#2717's shape) and
// FSE-10001 as typed faults with the right class, and its error says what the middleware
// said.
func TestGoClientDecodesSimulatorRefusals(t *testing.T) {
	h := startSim(t, nil)
	b, err := os.ReadFile(h.srv.ClientConfigPath())
	if err != nil {
		t.Fatal(err)
	}
	var cfg adapter.Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	c, err := adapter.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	meta := adapter.Metadata{PatientCF: patA, UniqueID: uidRoot + "refused", TypeCode: "11502-2", ClassCode: "REF"}
	for _, tc := range []struct {
		name     string
		body     []byte
		code     string
		class    fsefault.Class
		status   int
		contains string
	}{
		{"p7m (not a PDF)", pdfcdatest.P7M(pdfFor(patA, "refused")), CodeGeneric, fsefault.Validation, 415,
			"the regional middleware says: Il documento non è pdf. (415, /msg/document-type)"},
		{"no cda.xml", pdfcdatest.PDF{Attachment: []byte("<x/>"), AttachmentName: "other.xml"}.Bytes(), CodeGeneric, fsefault.Validation, 400,
			"the regional middleware says: Errore in fase di estrazione del CDA.: Error while extracting CDA from PDF document (400, /msg/cda-element)"},
		{"CDA not signed", pdfcdatest.PDF{Attachment: pdfcdatest.CDA{PatientCF: patA, IDExtension: "refused"}.Bytes()}.Bytes(),
			CodeUnsignedCDA, fsefault.Validation, 0, "FSE-10001 - Il documento CDA non e' firmato digitalmente"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Documents.Publish(context.Background(), adapter.PublishRequest{Body: tc.body, Metadata: meta})
			var f *fsefault.Fault
			if !errors.As(err, &f) || f.Code != tc.code || f.Class != tc.class || !strings.Contains(err.Error(), tc.contains) {
				t.Fatalf("error %v (%+v), want %s %v containing %q", err, f, tc.code, tc.class, tc.contains)
			}
			if tc.status != 0 && (f.Middleware == nil || f.Middleware.Status != tc.status || f.Middleware.WorkflowInstanceID != "UNKNOWN_WORKFLOW_ID" || f.Middleware.TraceID == "") {
				t.Fatalf("middleware problem %+v", f.Middleware)
			}
		})
	}
}

// TestGoClientNationalProfile: the client configured with security.profile national (two
// signed assertions in wsse:Security, RSA-SHA256) is accepted by the simulator too.
func TestGoClientNationalProfile(t *testing.T) {
	h := startSim(t, nil)
	b, err := os.ReadFile(h.srv.ClientConfigPath())
	if err != nil {
		t.Fatal(err)
	}
	var cfg adapter.Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Security.Profile = "national"
	c, err := adapter.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h.consent(patA, "C2", true, "C3", true)
	uid := uidRoot + "national.1"
	if _, err := c.Documents.Publish(context.Background(), adapter.PublishRequest{Body: pdfFor(patA, uid),
		Metadata: adapter.Metadata{PatientCF: patA, UniqueID: uid, TypeCode: "11502-2", ClassCode: "REF"}}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	sr, err := c.Documents.Search(context.Background(), adapter.SearchQuery{PatientCF: patA})
	if err != nil || sr.Total != 1 {
		t.Fatalf("Search: %+v %v", sr, err)
	}
}
