package gateway_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/gateway"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sim/middleware"
	"github.com/fsepuglia/fsepuglia/adapter/sim/middleware/mwtest"
)

// TestJournalAndWorkflow: a validation survives the process (reopened file); the publication
// is refused before sending when never validated, when the CDA changed (but not when only
// legalAuthenticator did) and on day 6.
func TestJournalAndWorkflow(t *testing.T) {
	e := mwtest.Start(t, middleware.Options{}, gateway.Config{})
	path := filepath.Join(t.TempDir(), "middleware.db")
	j, err := gateway.OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	unsigned := e.Doc(t, pdfcdatest.CDA{}, false)
	h, _ := unsigned.CDAHash()
	at := time.Date(2026, 3, 16, 9, 0, 0, 0, time.UTC)
	if err := j.Record(gateway.Validation{UniqueID: unsigned.Meta.UniqueID, CDAHash: h, WorkflowInstanceID: "w", ValidatedAt: at}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	j, err = gateway.OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	v, err := j.Get(unsigned.Meta.UniqueID)
	if err != nil || v == nil || v.WorkflowInstanceID != "w" || !v.ValidatedAt.Equal(at) {
		t.Fatalf("after reopening: %+v %v", v, err)
	}
	signed := e.Doc(t, pdfcdatest.CDA{}, true)
	reason := func(err error) string {
		var we *gateway.WorkflowError
		if errors.As(err, &we) {
			return we.Reason
		}
		if err == nil {
			return "accepted"
		}
		return err.Error()
	}
	if r := reason(gateway.CheckPublishable(v, signed, at.Add(4*24*time.Hour))); r != "accepted" {
		t.Fatalf("signed copy of the validated CDA on day 4: %s", r)
	}
	if r := reason(gateway.CheckPublishable(v, signed, at.Add(5*24*time.Hour+time.Second))); !strings.Contains(r, "more than 5 days") {
		t.Fatalf("day 6: %s", r)
	}
	if r := reason(gateway.CheckPublishable(nil, signed, at)); !strings.Contains(r, "never validated") {
		t.Fatalf("no validation: %s", r)
	}
	changed := e.Doc(t, pdfcdatest.CDA{BodyPadding: 5}, true)
	if r := reason(gateway.CheckPublishable(v, changed, at)); !strings.Contains(r, "CDA changed") {
		t.Fatalf("changed CDA: %s", r)
	}
	missing, _ := j.Get("2.16.840.1.113883.2.9.2.160.4.4^none")
	if missing != nil {
		t.Fatal("unknown id found")
	}
}
