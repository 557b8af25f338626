package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/signeddoc"
)

// inspectDoc writes a generated document into dir and returns its path.
func inspectDoc(t *testing.T, dir, name string, pdf pdfcdatest.PDF) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pdf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func decodeInspect(t *testing.T, out string) inspectOutput {
	t.Helper()
	var got inspectOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("inspect JSON: %v\n%s", err, out)
	}
	return got
}

// TestInspect runs inspect on generated documents: what it derives, and which flag makes
// which check fail with exit code 3.
func TestInspect(t *testing.T) {
	dir := t.TempDir()
	rad := pdfcdatest.CDA{PatientCF: cfB, TypeCode: "68604-8", TemplateRoot: "2.16.840.1.113883.2.9.10.1.7.1", IDExtension: "INSPECT.RAD.1"}
	kit, err := signeddoc.NewKit()
	if err != nil {
		t.Fatal(err)
	}
	signedPDF, err := kit.Document(pdfcdatest.CDA{PatientCF: cfA}, pdfcdatest.PDF{}, signeddoc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	signed := filepath.Join(dir, "signed.pdf")
	if err := os.WriteFile(signed, signedPDF, 0o600); err != nil {
		t.Fatal(err)
	}
	fakeSigned := inspectDoc(t, dir, "fake-signed.pdf", pdfcdatest.PDF{Attachment: pdfcdatest.CDA{PatientCF: cfA}.Bytes(), Sign: true})
	unsigned := inspectDoc(t, dir, "unsigned.pdf", pdfcdatest.PDF{Attachment: rad.Bytes()})
	lazio := inspectDoc(t, dir, "lazio.pdf", pdfcdatest.PDF{Attachment: pdfcdatest.CDA{PatientCF: cfA, IDRoot: "2.16.840.1.113883.2.9.2.120.4.4"}.Bytes(), Sign: true})
	noCDA := inspectDoc(t, dir, "nocda.pdf", pdfcdatest.PDF{Attachment: []byte("<x/>"), AttachmentName: "other.xml"})
	notPDF := filepath.Join(dir, "note.txt")
	os.WriteFile(notPDF, []byte("hello"), 0o600)

	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		failed   []string // check IDs that must fail (in the first failing report)
		patients []string // derived patient per report
		types    []string // derived typeCode per report
	}{
		{"two good documents", []string{signed, unsigned}, exitOK, nil, []string{cfA, cfB}, []string{"11502-2", "68604-8"}},
		{"patient matches", []string{"--patient", strings.ToLower(cfA), signed}, exitOK, nil, []string{cfA}, []string{"11502-2"}},
		{"patient differs", []string{"--patient", cfA, unsigned}, exitInput, []string{docmeta.CheckPatient}, []string{cfB}, nil},
		{"signature required, absent", []string{"--require-signature", unsigned}, exitInput, []string{docmeta.CheckSignature}, nil, nil},
		{"signature required, present", []string{"--require-signature", signed}, exitOK, nil, nil, nil},
		{"signature required, does not verify", []string{"--require-signature", fakeSigned}, exitInput, []string{docmeta.CheckSignatureValid}, nil, nil},
		{"CDA signature required, signed", []string{"--require-cda-signature", signed}, exitOK, nil, nil, nil},
		{"CDA signature required, unsigned", []string{"--require-cda-signature", unsigned}, exitInput, []string{docmeta.CheckCDASignature}, nil, nil},
		{"strict, id root outside Puglia", []string{"--strict", lazio}, exitInput, []string{docmeta.CheckRegion}, nil, nil},
		{"not strict, id root outside Puglia", []string{lazio}, exitOK, nil, nil, nil},
		{"no cda.xml", []string{noCDA}, exitInput, []string{docmeta.CheckAttachment}, nil, nil},
		{"not a PDF", []string{notPDF}, exitInput, []string{docmeta.CheckFormat}, nil, nil},
		{"one bad in a batch", []string{signed, noCDA}, exitInput, []string{docmeta.CheckAttachment}, []string{cfA, ""}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			out, errOut, code := h.run(append([]string{"--output", "json", "inspect"}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tc.code, out, errOut)
			}
			got := decodeInspect(t, out)
			wantFailed := 0
			if tc.code != exitOK {
				wantFailed = 1
			}
			if got.Failed != wantFailed {
				t.Errorf("failed = %d, want %d", got.Failed, wantFailed)
			}
			for i, p := range tc.patients {
				if got.Reports[i].Metadata.PatientCF != p {
					t.Errorf("report %d patient %q, want %q", i, got.Reports[i].Metadata.PatientCF, p)
				}
			}
			for i, ty := range tc.types {
				if got.Reports[i].Metadata.TypeCode != ty {
					t.Errorf("report %d type %q, want %q", i, got.Reports[i].Metadata.TypeCode, ty)
				}
			}
			for _, id := range tc.failed {
				found := false
				for _, r := range got.Reports {
					if ck, ok := r.Check(id); ok && !ck.OK {
						found = true
					}
				}
				if !found {
					t.Errorf("check %s did not fail", id)
				}
			}
			if tc.code == exitInput && strings.Contains(errOut, cfA) {
				t.Error("the error line names the patient")
			}
		})
	}
}

// TestInspectUsage covers the inputs refused before any document is read.
func TestInspectUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"no file", nil, exitUsage},
		{"missing file", []string{filepath.Join(t.TempDir(), "absent.pdf")}, exitInput},
		{"invalid patient", []string{"--patient", "FSEPGL01E41A145X", "x.pdf"}, exitInput},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, e, code := newHarness(t).run(append([]string{"inspect"}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, e)
			}
		})
	}
}

// TestInspectTable checks the human output: derived fields, then the checks, failures named.
func TestInspectTable(t *testing.T) {
	dir := t.TempDir()
	p := inspectDoc(t, dir, "lab.pdf", pdfcdatest.PDF{Attachment: pdfcdatest.CDA{PatientCF: cfA, IDExtension: "TABLE.1"}.Bytes()})
	out, _, code := newHarness(t).run("inspect", "--require-signature", p)
	if code != exitInput {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"FILE ", "lab.pdf", "PATIENT ", cfA, "UNIQUE ID ", "^TABLE.1", "TYPE ", "11502-2", "CLASS ", "REF", "signature  ", "FAILED", "1 of 1 document(s) fail"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// TestInspectSamples inspects the eight real signed samples and compares the patient and
// the LOINC type with the table of ../shared/samples/README.md (read here, not copied).
func TestInspectSamples(t *testing.T) {
	readme := filepath.Join(samples, "README.md")
	f, err := os.Open(readme)
	if err != nil {
		t.Skipf("samples absent: %v", err)
	}
	defer f.Close()
	type row struct{ file, loinc, cf string }
	var rows []row
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cells := strings.Split(sc.Text(), "|")
		if len(cells) < 6 {
			continue
		}
		name := strings.Fields(strings.TrimSpace(cells[1]))
		cf := strings.TrimSpace(cells[4])
		if len(name) == 0 || len(cf) != 16 {
			continue // header, separator
		}
		rows = append(rows, row{name[0] + ".pdf", strings.TrimSpace(cells[2]), cf})
	}
	if len(rows) != 8 {
		t.Fatalf("%d rows in %s, want 8", len(rows), readme)
	}
	args := []string{"--output", "json", "inspect", "--require-signature"}
	for _, r := range rows {
		args = append(args, filepath.Join(samples, "signed-pdf", r.file))
	}
	out, e, code := newHarness(t).run(args...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, e)
	}
	got := decodeInspect(t, out)
	if len(got.Reports) != len(rows) {
		t.Fatalf("%d reports for %d files", len(got.Reports), len(rows))
	}
	for i, r := range rows {
		t.Run(r.file, func(t *testing.T) {
			m := got.Reports[i].Metadata
			if got.Reports[i].Name != r.file || m.PatientCF != r.cf || m.TypeCode != r.loinc {
				t.Errorf("%s: patient %s type %s, want %s %s", got.Reports[i].Name, m.PatientCF, m.TypeCode, r.cf, r.loinc)
			}
			if !got.Reports[i].Signed {
				t.Error("not seen as signed")
			}
		})
	}
}

// TestInspectProfile checks that the structure of the configuration is the profile: its
// codes reach the metadata, and a code outside its value set fails the profile check.
func TestInspectProfile(t *testing.T) {
	doc := inspectDoc(t, t.TempDir(), "lab.pdf", pdfcdatest.PDF{Attachment: pdfcdatest.CDA{PatientCF: cfA}.Bytes()})
	for _, tc := range []struct {
		name, facility, practice string
		code                     int
	}{
		{"valid profile", "Ospedale", "AD_PSC001", exitOK},
		{"practice setting outside the value set", "Ospedale", "AD_PSC777", exitInput},
		{"facility type outside the value set", "Casa", "AD_PSC001", exitInput},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			cfg := fmt.Sprintf(`{"structure":{"code":"160101","name":"Prova","facility_type":%q,"practice_setting":%q}}`, tc.facility, tc.practice)
			if err := os.MkdirAll(filepath.Join(h.cfgDir, "fsepuglia"), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(h.cfgDir, "fsepuglia", "config.json"), []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			out, e, code := h.run("--output", "json", "inspect", doc)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tc.code, out, e)
			}
			r := decodeInspect(t, out).Reports[0]
			if tc.code == exitOK {
				if r.Metadata.HealthcareFacilityType != tc.facility || r.Metadata.PracticeSettingCode != tc.practice || r.Metadata.AuthorInstitutionCode != "160101" {
					t.Errorf("profile not applied: %+v", r.Metadata)
				}
				return
			}
			if ck, ok := r.Check(docmeta.CheckProfile); !ok || ck.OK {
				t.Errorf("profile check did not fail: %+v", r.Checks)
			}
		})
	}
}
