package docmeta_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
	"github.com/fsepuglia/fsepuglia/adapter/internal/readcount"
	"github.com/fsepuglia/fsepuglia/adapter/internal/testenv"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
)

var update = flag.Bool("update", false, "rewrite fixtures/documents from pdfcdatest")

type gen = pdfcdatest.PDF
type cdaGen = pdfcdatest.CDA

func signed(c cdaGen) []byte { return gen{Attachment: c.Bytes(), Sign: true}.Bytes() }

// TestChecks makes every pre-flight check fail and pass.
func TestChecks(t *testing.T) {
	lab := cdaGen{}.Bytes()
	noExt := bytes.Replace(lab, []byte(`extension="160114.TEST.20260315103000.0001" assigningAuthorityName`), []byte(`assigningAuthorityName`), 1)
	cases := []struct {
		name  string
		data  []byte
		opts  docmeta.Options
		check string
		ok    bool
		found string // substring of Found, when set
	}{
		{"format: PDF", signed(cdaGen{}), docmeta.Options{}, docmeta.CheckFormat, true, "pdf"},
		{"format: XML refused", lab, docmeta.Options{}, docmeta.CheckFormat, false, "xml"},
		{"format: XML allowed", lab, docmeta.Options{AllowXML: true}, docmeta.CheckFormat, true, "xml"},
		{"format: zip", []byte("PK\x03\x04...."), docmeta.Options{}, docmeta.CheckFormat, false, "unknown"},
		{"pdf: no structure", []byte("%PDF-1.4\nnothing here\n"), docmeta.Options{}, docmeta.CheckStructure, false, "no startxref"},
		{"pdf: no structure, repairable, still no catalog", []byte("%PDF-1.4\nnothing here\n"), docmeta.Options{Repairable: true}, docmeta.CheckPDF, false, "no document catalog"},
		{"pdf: truncated", signed(cdaGen{})[:len(signed(cdaGen{}))*95/100], docmeta.Options{}, docmeta.CheckStructure, false, "startxref"},
		{"pdf: truncated, repairable", signed(cdaGen{})[:len(signed(cdaGen{}))*95/100], docmeta.Options{Repairable: true}, docmeta.CheckStructure, true, "startxref"},
		{"pdf: sound structure", signed(cdaGen{}), docmeta.Options{}, docmeta.CheckStructure, true, "1 revision"},
		{"pdf: unsupported filter", bytes.Replace(gen{Attachment: lab}.Bytes(), []byte("/FlateDecode"), []byte("/LZWDecode\x20\x20"), 1), docmeta.Options{}, docmeta.CheckPDF, false, "LZWDecode"},
		{"attachment: two cda.xml", gen{Attachment: lab, SecondAttachment: cdaGen{PatientCF: pdfcdatest.PatientCF2}.Bytes()}.Bytes(), docmeta.Options{}, docmeta.CheckAttachment, false, "2 embedded files are named cda.xml"},
		{"time: ok", signed(cdaGen{}), docmeta.Options{}, docmeta.CheckTime, true, "20260315103000+0100"},
		{"time: unparseable", signed(cdaGen{EffectiveTime: "15/03/2026 10:30"}), docmeta.Options{}, docmeta.CheckTime, false, "15/03/2026"},
		{"time: overridden", signed(cdaGen{EffectiveTime: "15/03/2026 10:30"}), docmeta.Options{Overrides: docmeta.Overrides{CreationTime: time.Date(2026, 3, 15, 9, 30, 0, 0, time.UTC)}}, docmeta.CheckTime, true, "2026-03-15T09:30:00Z"},
		{"cda: garbage in the body", gen{Attachment: bytes.Replace(lab, []byte("<structuredBody>"), []byte("<structuredBody><<"), 1)}.Bytes(), docmeta.Options{}, docmeta.CheckCDA, false, "not well-formed"},
		{"pdf: encrypted", bytes.Replace(signed(cdaGen{}), []byte("/Size 16 /Root 1 0 R"), []byte("/Size 16 /Root 1 0 R /Encrypt << /Filter /Standard >>"), 1), docmeta.Options{}, docmeta.CheckPDF, false, "encrypted"},
		{"pdf: broken p7m", pdfcdatest.P7M(lab)[:300], docmeta.Options{AllowP7M: true}, docmeta.CheckPDF, false, "not a CAdES"},
		{"format: p7m refused", pdfcdatest.P7M(signed(cdaGen{})), docmeta.Options{}, docmeta.CheckFormat, false, "p7m with pdf"},
		{"format: p7m allowed", pdfcdatest.P7M(lab), docmeta.Options{AllowP7M: true}, docmeta.CheckFormat, true, "p7m with xml"},
		{"signature: CAdES envelope", pdfcdatest.P7M(lab), docmeta.Options{AllowP7M: true, RequireSignature: true}, docmeta.CheckSignature, true, "CAdES"},
		{"pdf: readable", signed(cdaGen{}), docmeta.Options{}, docmeta.CheckPDF, true, ""},
		{"attachment: none", gen{}.Bytes(), docmeta.Options{}, docmeta.CheckAttachment, false, "no embedded files"},
		{"attachment: other file", gen{Attachment: []byte("x"), AttachmentName: "referto.txt"}.Bytes(), docmeta.Options{}, docmeta.CheckAttachment, false, "referto.txt"},
		{"attachment: wrong case", gen{Attachment: lab, AttachmentName: "CDA.XML"}.Bytes(), docmeta.Options{}, docmeta.CheckAttachment, false, "CDA.XML"},
		{"attachment: cda.xml", signed(cdaGen{}), docmeta.Options{}, docmeta.CheckAttachment, true, ""},
		{"cda: not HL7", signed(cdaGen{Namespace: "urn:example"}), docmeta.Options{}, docmeta.CheckCDA, false, "{urn:example}ClinicalDocument"},
		{"cda: wrong root", signed(cdaGen{Root: "Referto"}), docmeta.Options{}, docmeta.CheckCDA, false, "Referto"},
		{"cda: malformed", gen{Attachment: lab[:len(lab)/3]}.Bytes(), docmeta.Options{}, docmeta.CheckCDA, false, "not well-formed"},
		{"cda: ok", signed(cdaGen{}), docmeta.Options{}, docmeta.CheckCDA, true, ""},
		{"id: no extension", gen{Attachment: noExt}.Bytes(), docmeta.Options{}, docmeta.CheckDocumentID, false, ""},
		{"id: ok", signed(cdaGen{}), docmeta.Options{}, docmeta.CheckDocumentID, true, "^160114.TEST"},
		{"region: strict, region 120", signed(cdaGen{IDRoot: "2.16.840.1.113883.2.9.2.120.4.4"}), docmeta.Options{Strict: true}, docmeta.CheckRegion, false, "2.16.840.1.113883.2.9.2.120.4.4"},
		{"region: strict, prefix look-alike", signed(cdaGen{IDRoot: "2.16.840.1.113883.2.9.2.1601.4.4"}), docmeta.Options{Strict: true}, docmeta.CheckRegion, false, ""},
		{"region: strict, Puglia", signed(cdaGen{}), docmeta.Options{Strict: true}, docmeta.CheckRegion, true, ""},
		{"patient: bad check letter", signed(cdaGen{PatientCF: "FSEPGL01E41A145K"}), docmeta.Options{}, docmeta.CheckPatientCF, false, ""},
		{"patient: lower case", signed(cdaGen{PatientCF: "fsepgl01e41a145j"}), docmeta.Options{}, docmeta.CheckPatientCF, false, ""},
		{"patient: valid", signed(cdaGen{}), docmeta.Options{}, docmeta.CheckPatientCF, true, ""},
		{"patient: STP", signed(cdaGen{PatientCF: "STP1600010000001"}), docmeta.Options{}, docmeta.CheckPatientCF, true, ""},
		{"match: other patient", signed(cdaGen{}), docmeta.Options{PatientCF: pdfcdatest.PatientCF2}, docmeta.CheckPatient, false, ""},
		{"match: invalid request", signed(cdaGen{}), docmeta.Options{PatientCF: "NOTACF"}, docmeta.CheckPatient, false, ""},
		{"match: same, normalized", signed(cdaGen{}), docmeta.Options{PatientCF: " fsepgl01e41a145j "}, docmeta.CheckPatient, true, ""},
		{"type: unknown", signed(cdaGen{TypeCode: "99999-9"}), docmeta.Options{}, docmeta.CheckType, false, "99999-9"},
		{"type: not LOINC", signed(cdaGen{TypeSystem: "2.16.840.1.113883.5.4"}), docmeta.Options{}, docmeta.CheckType, false, "2.16.840.1.113883.5.4"},
		{"type: known via profile", signed(cdaGen{TypeCode: "99999-9"}), docmeta.Options{Profile: docmeta.Profile{Types: map[string]docmeta.TypeInfo{"99999-9": {Display: "Locale", Classes: []string{"WOR"}}}}}, docmeta.CheckType, true, ""},
		{"type: lab", signed(cdaGen{}), docmeta.Options{}, docmeta.CheckType, true, "11502-2"},
		{"class: inconsistent override", signed(cdaGen{}), docmeta.Options{Overrides: docmeta.Overrides{ClassCode: "LDO"}}, docmeta.CheckClass, false, "LDO"},
		{"class: unknown override", signed(cdaGen{}), docmeta.Options{Overrides: docmeta.Overrides{ClassCode: "XYZ"}}, docmeta.CheckClass, false, "XYZ"},
		{"class: derived", signed(cdaGen{}), docmeta.Options{}, docmeta.CheckClass, true, "REF"},
		{"class: discharge letter", signed(cdaGen{TypeCode: "34105-7"}), docmeta.Options{}, docmeta.CheckClass, true, "LDO"},
		{"signature: required, absent", gen{Attachment: lab}.Bytes(), docmeta.Options{RequireSignature: true}, docmeta.CheckSignature, false, "no signature"},
		{"signature: required, present", signed(cdaGen{}), docmeta.Options{RequireSignature: true}, docmeta.CheckSignature, true, "1 signature"},
		{"signature: required, bare XML", lab, docmeta.Options{RequireSignature: true, AllowXML: true}, docmeta.CheckSignature, false, ""},
		{"profile: bad facility", signed(cdaGen{}), docmeta.Options{Profile: docmeta.Profile{HealthcareFacilityType: "Clinica"}}, docmeta.CheckProfile, false, "Clinica"},
		{"profile: bad practice setting", signed(cdaGen{}), docmeta.Options{Profile: docmeta.Profile{PracticeSettingCode: "AD_PSC200"}}, docmeta.CheckProfile, false, "AD_PSC200"},
		{"profile: bad confidentiality", signed(cdaGen{Confidential: "X"}), docmeta.Options{}, docmeta.CheckProfile, false, "confidentialityCode X"},
		{"profile: ok", signed(cdaGen{}), docmeta.Options{Profile: docmeta.Profile{HealthcareFacilityType: "Ospedale", PracticeSettingCode: "AD_PSC131"}}, docmeta.CheckProfile, true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := docmeta.InspectBytes(tc.data, "doc", tc.opts)
			c, ran := r.Check(tc.check)
			if !ran {
				t.Fatalf("check %s did not run; checks: %+v", tc.check, r.Checks)
			}
			if c.OK != tc.ok {
				t.Fatalf("check %s ok=%v, want %v: %+v", tc.check, c.OK, tc.ok, c)
			}
			if !strings.Contains(c.Found, tc.found) {
				t.Fatalf("found %q, want it to contain %q", c.Found, tc.found)
			}
			err := r.Err()
			var ce *docmeta.CheckError
			if tc.ok {
				if errors.As(err, &ce) && ce.Has(tc.check) {
					t.Fatalf("Err lists passing check %s", tc.check)
				}
				return
			}
			if !errors.As(err, &ce) || !ce.Has(tc.check) {
				t.Fatalf("Err = %v, want a CheckError with %s", err, tc.check)
			}
			if c.FaultCode == "" || c.Field == "" || c.Expected == "" || c.Message == "" || c.Fix == "" {
				t.Fatalf("failed check lacks field, expected, message, fix or fault code: %+v", c)
			}
			if !strings.Contains(err.Error(), "fix: "+c.Fix) {
				t.Fatalf("error message lacks the fix: %v", err)
			}
			for _, cf := range []string{pdfcdatest.PatientCF, pdfcdatest.PatientCF2, "FSEPGL01E41A145K"} {
				if strings.Contains(err.Error(), cf) {
					t.Fatalf("error message leaks a fiscal code: %v", err)
				}
			}
		})
	}
}

func TestSignatureNotCheckedUnlessRequired(t *testing.T) {
	r := docmeta.InspectBytes(gen{Attachment: cdaGen{}.Bytes()}.Bytes(), "doc", docmeta.Options{})
	if _, ran := r.Check(docmeta.CheckSignature); ran || r.Signed || r.Err() != nil {
		t.Fatalf("signature checked or error: signed=%v err=%v", r.Signed, r.Err())
	}
}

func TestDeriveAndOverride(t *testing.T) {
	data := signed(cdaGen{TypeCode: "68604-8", TemplateRoot: "2.16.840.1.113883.2.9.10.1.7.1", EffectiveTime: "20260315103000+0100", Confidential: "R"})
	prof := docmeta.Profile{HealthcareFacilityType: "Ospedale", PracticeSettingCode: "AD_PSC001", RepositoryUniqueID: "2.16.840.1.113883.2.9.2.160.4.5.1"}
	r := docmeta.InspectBytes(data, "referto.pdf", docmeta.Options{Profile: prof, Strict: true, RequireSignature: true, PatientCF: pdfcdatest.PatientCF})
	if err := r.Err(); err != nil {
		t.Fatalf("Err: %v", err)
	}
	want := docmeta.Metadata{
		PatientCF: pdfcdatest.PatientCF, UniqueID: "2.16.840.1.113883.2.9.2.160.4.4^160114.TEST.20260315103000.0001",
		RepositoryUniqueID: prof.RepositoryUniqueID, TypeCode: "68604-8", ClassCode: "REF", FormatCode: "2.16.840.1.113883.2.9.10.1.7.1",
		PracticeSettingCode: "AD_PSC001", HealthcareFacilityType: "Ospedale", ConfidentialityCode: "R",
		AuthorInstitutionCode: "160114", AuthorInstitutionName: "Struttura di prova", AuthorPerson: pdfcdatest.AuthorCF,
		MimeType: "application/pdf", Hash: sha256Independent(t, data), Size: int64(len(data)),
		CreationTime: time.Date(2026, 3, 15, 9, 30, 0, 0, time.UTC), Title: "Referto di prova (sintetico)", LanguageCode: "it-IT", DocumentName: "referto.pdf",
	}
	if got := r.Metadata; !metaEqual(got, want) {
		t.Fatalf("metadata\n got %+v\nwant %+v", got, want)
	}
	// Every override wins; the hash and size still describe the bytes.
	o := docmeta.Overrides{TypeCode: "11502-2", ClassCode: "REF", FormatCode: "f", PracticeSettingCode: "AD_PSC999", HealthcareFacilityType: "Territorio",
		ConfidentialityCode: "V", AuthorInstitutionCode: "c", AuthorInstitutionName: "n", AuthorPerson: pdfcdatest.LegalCF, Title: "t", LanguageCode: "en-US",
		DocumentName: "d.pdf", UniqueID: "2.16.840.1.113883.2.9.2.160.4.4^other", RepositoryUniqueID: "r", CreationTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	r = docmeta.InspectBytes(data, "referto.pdf", docmeta.Options{Profile: prof, Overrides: o})
	m := r.Metadata
	got := []string{m.TypeCode, m.ClassCode, m.FormatCode, m.PracticeSettingCode, m.HealthcareFacilityType, m.ConfidentialityCode, m.AuthorInstitutionCode, m.AuthorInstitutionName, m.AuthorPerson, m.Title, m.LanguageCode, m.DocumentName, m.UniqueID, m.RepositoryUniqueID, m.CreationTime.Format(time.RFC3339)}
	exp := []string{"11502-2", "REF", "f", "AD_PSC999", "Territorio", "V", "c", "n", pdfcdatest.LegalCF, "t", "en-US", "d.pdf", o.UniqueID, "r", "2026-01-01T00:00:00Z"}
	if strings.Join(got, "|") != strings.Join(exp, "|") {
		t.Fatalf("overrides\n got %v\nwant %v", got, exp)
	}
	if m.Hash != want.Hash || m.Size != want.Size {
		t.Fatal("hash or size changed by overrides")
	}
	// A type override alone derives the class of the new type.
	r = docmeta.InspectBytes(data, "x", docmeta.Options{Overrides: docmeta.Overrides{TypeCode: "34105-7"}})
	if r.Metadata.ClassCode != "LDO" {
		t.Fatalf("class for overridden type = %q, want LDO", r.Metadata.ClassCode)
	}
}

func metaEqual(a, b docmeta.Metadata) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// sha256Independent hashes with sha256sum when installed (an independent implementation).
func sha256Independent(t *testing.T, data []byte) string {
	t.Helper()
	tool := testenv.Tool(t, "sha256sum", "coreutils")
	cmd := exec.Command(tool)
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))[0]
}

func TestInspectReaderAndFile(t *testing.T) {
	data := signed(cdaGen{})
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	r1, err := docmeta.Inspect(bytes.NewReader(data), int64(len(data)), "doc.pdf", docmeta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := docmeta.InspectFile(path, docmeta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	j1, _ := json.Marshal(r1)
	j2, _ := json.Marshal(r2)
	if !bytes.Equal(j1, j2) {
		t.Fatalf("Inspect and InspectFile differ:\n%s\n%s", j1, j2)
	}
	if _, err := docmeta.Inspect(bytes.NewReader(data), int64(len(data)), "doc.pdf", docmeta.Options{MaxSize: 100}); !errors.Is(err, docmeta.ErrTooLarge) {
		t.Fatalf("MaxSize: err = %v", err)
	}
	if _, err := docmeta.Inspect(bytes.NewReader(data[:10]), int64(len(data)), "doc.pdf", docmeta.Options{}); err == nil {
		t.Fatal("short read: no error")
	}
	if _, err := docmeta.InspectFile(filepath.Join(t.TempDir(), "missing.pdf"), docmeta.Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: err = %v", err)
	}
}

// TestInspectStreams: Inspect of a 20 MB PDF from a file reports what InspectBytes reports of
// the same bytes, reading them once for the hash and little more (the padding stream is
// skipped, never read into memory); a read error is Inspect's error, not a failed check.
func TestInspectStreams(t *testing.T) {
	data := gen{Attachment: cdaGen{}.Bytes(), Sign: true, PadTo: 20 << 20}.Bytes()
	for _, opts := range []docmeta.Options{{RequireSignature: true}, {RequireSignature: true, VerifySignatures: true}, {Repairable: true}} {
		want := docmeta.InspectBytes(data, "big.pdf", opts)
		r := readcount.Bytes(data)
		got, err := docmeta.Inspect(r, int64(len(data)), "big.pdf", opts)
		if err != nil {
			t.Fatal(err)
		}
		j1, _ := json.Marshal(want)
		j2, _ := json.Marshal(got)
		if !bytes.Equal(j1, j2) {
			t.Fatalf("Inspect and InspectBytes differ:\n%s\n%s", j2, j1)
		}
		if extra := r.BytesRead() - int64(len(data)); extra > 1<<20 {
			t.Fatalf("%+v: read %d bytes beyond the hash's one pass over %d", opts, extra, len(data))
		}
	}
	if _, err := docmeta.Inspect(readcount.Bytes(data).FailBeyond(int64(len(data))-100), int64(len(data)), "big.pdf", docmeta.Options{}); !errors.Is(err, readcount.ErrDisk) {
		t.Fatalf("read error: %v", err)
	}
	xml := cdaGen{}.Bytes()
	want := docmeta.InspectBytes(xml, "cda.xml", docmeta.Options{AllowXML: true})
	got, err := docmeta.Inspect(readcount.Bytes(xml), int64(len(xml)), "cda.xml", docmeta.Options{AllowXML: true})
	j1, _ := json.Marshal(want)
	j2, _ := json.Marshal(got)
	if err != nil || !bytes.Equal(j1, j2) {
		t.Fatalf("XML: %v\n%s\n%s", err, j2, j1)
	}
}

// TestFixtures keeps fixtures/documents in step with pdfcdatest (-update rewrites them) and
// checks each fixture's report against its golden JSON.
func TestFixtures(t *testing.T) {
	dir := filepath.Join(testenv.ModuleRoot(t), "fixtures", "documents")
	opts := docmeta.Options{Strict: true, RequireSignature: true, PatientCF: pdfcdatest.PatientCF,
		Profile: docmeta.Profile{HealthcareFacilityType: "Ospedale", PracticeSettingCode: "AD_PSC001", RepositoryUniqueID: "2.16.840.1.113883.2.9.2.160.4.5.1"}}
	var readme strings.Builder
	readme.WriteString("# fixtures/documents\n\nSynthetic documents made by `adapter/pdfcda/pdfcdatest` (test identities only, no real data).\n" +
		"Regenerate with `go test ./adapter/docmeta -run TestFixtures -update`; each `<name>.report.json` is the\n" +
		"`docmeta.Report` under Strict, RequireSignature and PatientCF " + pdfcdatest.PatientCF + ".\n" +
		"The signatures are fake (right shape, no cryptographic value).\n\n| file | what it exercises |\n|---|---|\n")
	for _, f := range pdfcdatest.Fixtures() {
		readme.WriteString("| `" + f.Name + "` | " + f.About + " |\n")
	}
	t.Run("README.md", func(t *testing.T) {
		path := filepath.Join(dir, "README.md")
		if *update {
			if err := os.WriteFile(path, []byte(readme.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != readme.String() {
			t.Fatalf("README.md out of date (run with -update): %v", err)
		}
	})
	for _, f := range pdfcdatest.Fixtures() {
		t.Run(f.Name, func(t *testing.T) {
			path := filepath.Join(dir, f.Name)
			golden := path + ".report.json"
			r := docmeta.InspectBytes(f.Data, f.Name, opts)
			js, err := json.MarshalIndent(r, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			js = append(js, '\n')
			if *update {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, f.Data, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, js, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			onDisk, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(onDisk, f.Data) {
				t.Fatalf("%s differs from the generator (run with -update)", f.Name)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(want, js) {
				t.Fatalf("report differs from %s (run with -update after checking):\n%s", golden, js)
			}
		})
	}
}

// TestFixtureOutcomes states, independently of the golden files, which checks each fixture
// must fail under the fixtures' options.
func TestFixtureOutcomes(t *testing.T) {
	opts := docmeta.Options{Strict: true, RequireSignature: true, PatientCF: pdfcdatest.PatientCF}
	want := map[string][]string{
		"lab-signed.pdf":       nil,
		"lab-unsigned.pdf":     {docmeta.CheckSignature},
		"lab-objstm-kids.pdf":  nil,
		"lab-uncompressed.pdf": nil,
		"lab-appended.pdf":     nil,
		"no-cda.pdf":           {docmeta.CheckAttachment},
		"wrong-name.pdf":       {docmeta.CheckAttachment},
		"not-hl7.pdf":          {docmeta.CheckCDA},
		"malformed-cda.pdf":    {docmeta.CheckCDA},
		"bad-cf.pdf":           {docmeta.CheckPatientCF, docmeta.CheckPatient},
		"other-patient.pdf":    {docmeta.CheckPatient},
		"unknown-type.pdf":     {docmeta.CheckType},
		"lazio-id.pdf":         {docmeta.CheckRegion},
		"lab.xml":              {docmeta.CheckFormat},
		"cda-unclosed.pdf":     {docmeta.CheckCDA},
		"cda-truncated-90.pdf": {docmeta.CheckCDA},
		"cda-garbage-body.pdf": {docmeta.CheckCDA},
		"truncated-95.pdf":     {docmeta.CheckStructure},
		"two-cda.pdf":          {docmeta.CheckAttachment},
		"objstm-offset.pdf":    {docmeta.CheckStructure},
		"repeated-obj.pdf":     {docmeta.CheckStructure},
		"bad-time.pdf":         {docmeta.CheckTime},
		"local-time.pdf":       nil,
	}
	for _, f := range pdfcdatest.Fixtures() {
		t.Run(f.Name, func(t *testing.T) {
			exp, ok := want[f.Name]
			if !ok {
				t.Fatalf("no expectation for fixture %s", f.Name)
			}
			r := docmeta.InspectBytes(f.Data, f.Name, opts)
			var failed []string
			if ce := (*docmeta.CheckError)(nil); errors.As(r.Err(), &ce) {
				for _, c := range ce.Failed {
					failed = append(failed, c.ID)
				}
			}
			if strings.Join(failed, ",") != strings.Join(exp, ",") {
				t.Fatalf("failed checks %v, want %v", failed, exp)
			}
		})
	}
}

// TestSamples runs the ministry's signed PDFs: each yields the README's patient and LOINC;
// their ids are under region 120, so strict mode fails them and non-strict passes.
func TestSamples(t *testing.T) {
	dir := testenv.SamplesDir(t)
	for _, s := range pdfcdatest.Samples {
		t.Run(s.Type, func(t *testing.T) {
			path := filepath.Join(dir, "signed-pdf", s.Type+".pdf")
			r, err := docmeta.InspectFile(path, docmeta.Options{RequireSignature: true, PatientCF: s.PatientCF})
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Err(); err != nil {
				t.Fatalf("non-strict: %v", err)
			}
			m := r.Metadata
			if m.PatientCF != s.PatientCF || m.TypeCode != s.LOINC || m.FormatCode != s.TemplateRoot || m.MimeType != "application/pdf" || !r.Signed {
				t.Fatalf("metadata %+v", m)
			}
			if !r.Signatures[0].CoversWholeFile {
				t.Fatal("signature does not cover the file")
			}
			r, err = docmeta.InspectFile(path, docmeta.Options{Strict: true})
			if err != nil {
				t.Fatal(err)
			}
			var ce *docmeta.CheckError
			if !errors.As(r.Err(), &ce) || len(ce.Failed) != 1 || ce.Failed[0].ID != docmeta.CheckRegion {
				t.Fatalf("strict: %v, want only %s", r.Err(), docmeta.CheckRegion)
			}
			// The bare CDA gives the same header metadata.
			x, err := docmeta.InspectFile(filepath.Join(dir, "cda", s.Type+".xml"), docmeta.Options{AllowXML: true})
			if err != nil || x.Err() != nil {
				t.Fatalf("cda/%s.xml: %v %v", s.Type, err, x.Err())
			}
			if x.Metadata.PatientCF != s.PatientCF || x.Metadata.TypeCode != s.LOINC || x.Metadata.MimeType != "text/xml" {
				t.Fatalf("xml metadata %+v", x.Metadata)
			}
		})
	}
}

func BenchmarkInspect50MB(b *testing.B) {
	g := gen{Attachment: cdaGen{}.Bytes(), Sign: true, PadTo: 50 << 20}.Bytes()
	data := make([]byte, len(g))
	copy(data, g)
	g = nil
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r := docmeta.InspectBytes(data, "big.pdf", docmeta.Options{RequireSignature: true})
		if r.Err() != nil {
			b.Fatal(r.Err())
		}
	}
}

// BenchmarkInspectFile50MB: the path-based call reads the file through an io.ReaderAt (the
// SHA-256 streamed, the PDF through its cross-reference): B/op is the parsed objects and
// read buffers, not a copy of the file.
func BenchmarkInspectFile50MB(b *testing.B) {
	path := filepath.Join(b.TempDir(), "big.pdf")
	if err := os.WriteFile(path, gen{Attachment: cdaGen{}.Bytes(), Sign: true, PadTo: 50 << 20}.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	for b.Loop() {
		r, err := docmeta.InspectFile(path, docmeta.Options{RequireSignature: true})
		if err != nil || r.Err() != nil {
			b.Fatal(err, r.Err())
		}
	}
	b.ReportMetric(float64(st.Size())/(1<<20), "file-MiB")
}

func TestTitleFallback(t *testing.T) {
	cases := []struct {
		name string
		cda  pdfcdatest.CDA
		want string
	}{
		{"header title", pdfcdatest.CDA{}, "Referto di prova (sintetico)"},
		{"no title: the code's displayName", pdfcdatest.CDA{NoTitle: true, TypeDisplay: "Referto di laboratorio di prova"}, "Referto di laboratorio di prova"},
		{"no title, no displayName: the type table", pdfcdatest.CDA{NoTitle: true, TypeCode: "34105-7", TypeDisplay: " "}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := pdfcdatest.PDF{Attachment: tc.cda.Bytes(), Sign: true}.Bytes()
			rep := docmeta.InspectBytes(body, "doc.pdf", docmeta.Options{})
			want := tc.want
			if want == "" {
				info, ok := docmeta.Type(tc.cda.TypeCode)
				if !ok || info.Display == "" {
					t.Fatalf("type table has no name for %s", tc.cda.TypeCode)
				}
				want = info.Display
			}
			if strings.TrimSpace(rep.Metadata.Title) != want {
				t.Errorf("title %q, want %q", rep.Metadata.Title, want)
			}
		})
	}
	t.Run("LDO sample", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(testenv.SamplesDir(t), "signed-pdf", "LDO.pdf"))
		if err != nil {
			t.Fatal(err)
		}
		if got := docmeta.InspectBytes(b, "LDO.pdf", docmeta.Options{}).Metadata.Title; got != "Lettera di dimissione ospedaliera" {
			t.Errorf("LDO title %q", got)
		}
	})
}

// peakRSSEnv names the file TestPeakRSSChild inspects, when the benchmark runs it.
const peakRSSEnv = "FSEPUGLIA_PEAK_RSS_FILE"

// TestPeakRSSChild is the child process of BenchmarkInspect100MBPeakRSS: it inspects the
// file named by FSEPUGLIA_PEAK_RSS_FILE (or does nothing, for the baseline, when it is
// "-"). It is skipped otherwise.
func TestPeakRSSChild(t *testing.T) {
	path := os.Getenv(peakRSSEnv)
	if path == "" {
		t.Skip("child process of BenchmarkInspect100MBPeakRSS")
	}
	if path != "-" {
		r, err := docmeta.InspectFile(path, docmeta.Options{RequireSignature: true, MaxSize: 200 << 20})
		if err != nil || r.Err() != nil || r.CDASize == 0 {
			t.Fatalf("%v %v", err, r.Err())
		}
	}
	// The peak of this process image (VmHWM starts again at exec, unlike the rusage of a
	// child, which counts the parent's pages shared before exec).
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			fmt.Println("PEAK " + strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:")))
		}
	}
}

// BenchmarkInspect100MBPeakRSS inspects a 100 MB signed PDF (cda.xml plus a 100 MB
// incompressible image stream) in a child process with InspectFile, as `fsepuglia inspect`
// and `publish` do (through an io.ReaderAt: the file is never in memory), and reports the
// child's peak resident memory (VmHWM: everything, runtime included) over the file size, and
// peak-extra/file, the same minus the peak of the child doing nothing. It fails when the
// inspection holds more than a tenth of the file (it held one whole copy before).
func BenchmarkInspect100MBPeakRSS(b *testing.B) {
	path := filepath.Join(b.TempDir(), "big.pdf")
	if err := os.WriteFile(path, gen{Attachment: cdaGen{}.Bytes(), Sign: true, PadTo: 100 << 20}.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	child := func(arg string) int64 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPeakRSSChild$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), peakRSSEnv+"="+arg)
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("child: %v\n%s", err, out)
		}
		var kb int64
		for _, line := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(line, "PEAK "); ok {
				fmt.Sscanf(v, "%d kB", &kb)
			}
		}
		if kb == 0 {
			b.Skipf("the child did not report its peak (no /proc?):\n%s", out)
		}
		return kb * 1024
	}
	base := child("-")
	var peak int64
	b.SetBytes(st.Size())
	for b.Loop() {
		peak = max(peak, child(path))
	}
	ratio := float64(peak) / float64(st.Size())
	b.ReportMetric(float64(st.Size())/(1<<20), "file-MiB")
	b.ReportMetric(ratio, "peak-rss/file")
	b.ReportMetric(float64(peak-base)/float64(st.Size()), "peak-extra/file")
	if extra := float64(peak-base) / float64(st.Size()); extra >= 0.1 {
		b.Errorf("inspecting the %d MiB file added %.0f MiB of peak RSS, %.2f× the file (limit 0.1×: the file must not be read into memory)",
			st.Size()>>20, float64(peak-base)/(1<<20), extra)
	}
}

// TestCreationTimeZone: a zone-less effectiveTime is Italian local time (Europe/Rome: CET
// in winter, CEST in summer), unless Options.Location says otherwise; with an offset, the
// offset rules. It was read as UTC before.
func TestCreationTimeZone(t *testing.T) {
	for _, tc := range []struct {
		effective string
		loc       *time.Location
		want      string
	}{
		{"20260115103000", nil, "2026-01-15T09:30:00Z"},
		{"20260715103000", nil, "2026-07-15T08:30:00Z"},
		{"20260715103000", time.UTC, "2026-07-15T10:30:00Z"},
		{"20260715103000+0000", nil, "2026-07-15T10:30:00Z"},
		{"20260715103000-0300", nil, "2026-07-15T13:30:00Z"},
	} {
		r := docmeta.InspectBytes(signed(cdaGen{EffectiveTime: tc.effective}), "doc.pdf", docmeta.Options{Location: tc.loc})
		if got := r.Metadata.CreationTime.Format(time.RFC3339); got != tc.want || r.Err() != nil {
			t.Errorf("%s in %v: %s (%v), want %s", tc.effective, tc.loc, got, r.Err(), tc.want)
		}
	}
}
