package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter"
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
