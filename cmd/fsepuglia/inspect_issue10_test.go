package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
)

// issue10Broken are the broken documents of issue 10 (fixtures/documents), the check each
// must fail, and the fault the simulator answers when it is published anyway.
var issue10Broken = []struct{ file, check, fault string }{
	{"cda-unclosed.pdf", docmeta.CheckCDA, "/msg/cda-element"},
	{"cda-truncated-90.pdf", docmeta.CheckCDA, "/msg/cda-element"},
	{"cda-garbage-body.pdf", docmeta.CheckCDA, "/msg/cda-element"},
	{"truncated-95.pdf", docmeta.CheckStructure, "/msg/document-type"},
	{"two-cda.pdf", docmeta.CheckAttachment, "/msg/cda-element"},
	{"objstm-offset.pdf", docmeta.CheckStructure, "/msg/document-type"},
	{"repeated-obj.pdf", docmeta.CheckStructure, "/msg/document-type"},
	{"bad-time.pdf", docmeta.CheckTime, "effectiveTime"},
}

func fixtureDoc(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join("..", "..", "fixtures", "documents", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestInspectRefusesIssue10 runs inspect on each broken document of issue 10 (each passed
// before, or made inspect panic): exit 3, the check failed with the field and the fix, in
// the JSON, the table and the error line, and no fiscal code on stderr.
func TestInspectRefusesIssue10(t *testing.T) {
	for _, tc := range issue10Broken {
		t.Run(tc.file, func(t *testing.T) {
			doc := fixtureDoc(t, tc.file)
			out, errOut, code := newHarness(t).run("--output", "json", "inspect", doc)
			if code != exitInput {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, exitInput, out, errOut)
			}
			var got inspectOutput
			if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Reports) != 1 {
				t.Fatalf("inspect JSON: %v\n%s", err, out)
			}
			ck, ok := got.Reports[0].Check(tc.check)
			if !ok || ck.OK || ck.Field == "" || ck.Fix == "" || ck.Expected == "" {
				t.Fatalf("check %s: %+v (ran %v)", tc.check, ck, ok)
			}
			if !strings.Contains(errOut, tc.check+" ("+ck.Field+")") || !strings.Contains(errOut, "fix: "+ck.Fix) {
				t.Fatalf("error line lacks the check, its field or its fix:\n%s", errOut)
			}
			if strings.Contains(errOut, pdfcdatest.PatientCF) || strings.Contains(errOut, pdfcdatest.PatientCF2) {
				t.Fatal("the error line names a patient")
			}
			table, _, code := newHarness(t).run("inspect", doc)
			if code != exitInput || !strings.Contains(table, tc.check) || !strings.Contains(table, "fix: "+ck.Fix) {
				t.Fatalf("table (exit %d) lacks the failed check and its fix:\n%s", code, table)
			}
		})
	}
}

// TestInspectRepairable: --repairable reads a truncated PDF by scanning and says so; the
// structure check passes, what cannot be found still fails.
func TestInspectRepairable(t *testing.T) {
	doc := fixtureDoc(t, "truncated-95.pdf")
	out, _, code := newHarness(t).run("--output", "json", "inspect", "--repairable", doc)
	var got inspectOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Reports) != 1 {
		t.Fatalf("inspect JSON: %v\n%s", err, out)
	}
	r := got.Reports[0]
	ck, ok := r.Check(docmeta.CheckStructure)
	if !ok || !ck.OK || !strings.Contains(ck.Message, "--repairable") || r.Repaired == "" {
		t.Fatalf("structure check %+v, repaired %q", ck, r.Repaired)
	}
	if code != exitInput {
		t.Fatalf("exit %d: the truncated file's cda.xml specification is cut, it must still fail", code)
	}
}

// TestInspectLocalTime: a zone-less effectiveTime is Italian local time (CEST in July).
func TestInspectLocalTime(t *testing.T) {
	out, e, code := newHarness(t).run("--output", "json", "inspect", fixtureDoc(t, "local-time.pdf"))
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, e)
	}
	var got inspectOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if ct := got.Reports[0].Metadata.CreationTime.UTC().Format("2006-01-02T15:04:05Z"); ct != "2026-07-15T08:30:00Z" {
		t.Fatalf("creation time %s, want 2026-07-15T08:30:00Z (10:30 CEST)", ct)
	}
}

// TestSimulatorRefusesIssue10: published with --skip-checks (metadata from a sidecar), each
// broken document is refused by the simulator (as the national gateway behind the regional
// service refuses it; the CDA ones were stored Approved before: the parser stopped after the
// header), and a sound one is accepted.
func TestSimulatorRefusesIssue10(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the simulator")
	}
	cfg := startSim(t)
	dir := t.TempDir()
	// Complete metadata, as docmeta derives them from a sound document of the same patient.
	prof := docmeta.Profile{StructureCode: "160114", StructureName: "Prova", HealthcareFacilityType: "Ospedale", PracticeSettingCode: "AD_PSC001", RepositoryUniqueID: "2.16.840.1.113883.2.9.2.160.4.5.1"}
	rep := docmeta.InspectBytes(pdfcdatest.PDF{Attachment: pdfcdatest.CDA{PatientCF: cfA}.Bytes(), Sign: true}.Bytes(), "x.pdf", docmeta.Options{Profile: prof})
	soundMeta := rep.Metadata
	soundMeta.Hash, soundMeta.Size, soundMeta.MimeType, soundMeta.DocumentName = "", 0, "", ""
	publish := func(name string, body []byte) (string, int) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, body, 0o600); err != nil {
			t.Fatal(err)
		}
		side := soundMeta
		side.UniqueID = idRoot + "ISSUE10." + strings.TrimSuffix(name, ".pdf")
		js, err := json.Marshal(side)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p+".json", js, 0o600); err != nil {
			t.Fatal(err)
		}
		_, e, code := runReal(t, cfg, t.TempDir(), "publish", "--skip-checks", p)
		return e, code
	}
	for _, tc := range issue10Broken {
		t.Run(tc.file, func(t *testing.T) {
			body, err := os.ReadFile(fixtureDoc(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			e, code := publish(tc.file, body)
			if code == exitOK || !strings.Contains(e, tc.fault) {
				t.Fatalf("exit %d, want a refusal naming %s:\n%s", code, tc.fault, e)
			}
		})
	}
	t.Run("sound document", func(t *testing.T) {
		body := pdfcdatest.PDF{Attachment: pdfcdatest.CDA{PatientCF: cfA}.Bytes(), Sign: true}.Bytes()
		if e, code := publish("sound.pdf", body); code != exitOK {
			t.Fatalf("exit %d:\n%s", code, e)
		}
	})
}
