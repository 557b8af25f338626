package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sim"
)

// testIdentities are the published test CFs; the tests look for them in any case.
var testIdentities = []string{cfA, cfB, "PROVAX00X00X000Y"}

// cdaNames are the personal names pdfcdatest writes into every test CDA (patient, author,
// legal authenticator).
var cdaNames = []string{"Paziente", "Medico", "Sintetico", "Direttrice", "Sintetica"}

// leaks returns what of the test identities (any case) and CDA names s contains.
func leaks(s string) []string {
	var out []string
	up := strings.ToUpper(s)
	for _, cf := range testIdentities {
		if strings.Contains(up, cf) {
			out = append(out, cf)
		}
	}
	for _, n := range cdaNames {
		if regexp.MustCompile(`\b` + n + `\b`).MatchString(s) { // not codiceFiscalePaziente
			out = append(out, n)
		}
	}
	return out
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(&l.b, format+"\n", args...)
}

// TestNoPatientDataInLogsOrTraces runs a whole scenario against the simulator at every log
// level, with traces on, and with the test CFs planted in every case and position the
// review found leaking: in unique ids (ID.<CF>0001, X_<cf>_3, 20260101<CF>), in file names,
// in lower case, in an unknown id asked for, in a failing file. Every log line (stderr), every
// trace file and the simulator's log must be free of the CFs (any case) and of the names the
// test CDAs carry. Command results on stdout (a search's ids, say) are what the user asked
// for and are not logs.
func TestNoPatientDataInLogsOrTraces(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the simulator")
	}
	var simLog lockedBuffer
	s, err := sim.Start(context.Background(), sim.Options{DataDir: t.TempDir(), Logger: &simLog})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cfg := s.ClientConfigPath()

	type planted struct{ file, ext string }
	docsPlanted := []planted{
		{"ID.FSEPGL01E41A145J0001.pdf", "ID.FSEPGL01E41A145J0001"},
		{"X_fselbr01c41a145s_3.pdf", "X_fsepgl01e41a145j_3"},
		{"20260101PROVAX00X00X000Y.pdf", "20260101FSEPGL01E41A145J"},
	}
	for _, level := range []string{"debug", "info", "warn", "error"} {
		t.Run(level, func(t *testing.T) {
			docs, traces, data := t.TempDir(), t.TempDir(), t.TempDir()
			var ids []string
			for i, p := range docsPlanted {
				body := pdfcdatest.PDF{Sign: true, Attachment: pdfcdatest.CDA{PatientCF: cfA, IDExtension: p.ext + "." + level + fmt.Sprint(i)}.Bytes()}.Bytes()
				rep := docmeta.InspectBytes(body, p.file, docmeta.Options{})
				if err := rep.Err(); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, rep.Metadata.UniqueID)
				if err := os.WriteFile(filepath.Join(docs, p.file), body, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			bad := filepath.Join(t.TempDir(), "FSEPGL01E41A145J_not-a-pdf.pdf")
			os.WriteFile(bad, []byte("plain text, not a PDF"), 0o600)
			lower := strings.ToLower(cfA)
			steps := []struct {
				args []string
				want int
			}{
				{[]string{"consent", "status", "--patient", lower}, exitOK},
				{[]string{"search", "--patient", cfA}, exitConsent},
				{[]string{"consent", "set", "--patient", cfA, "--c2=true", "--c3=true"}, exitOK},
				{[]string{"publish", "--dir", docs}, exitOK},
				{[]string{"publish", "--dir", docs}, exitOK}, // skipped: already done
				{[]string{"publish", bad}, exitInput},
				{[]string{"search", "--patient", lower}, exitOK},
				{[]string{"retrieve", ids[0], "--patient", cfA, "-o", filepath.Join(t.TempDir(), "r.pdf")}, exitOK},
				{[]string{"retrieve", "2.16.840.1.113883.2.9.2.160.4.4^ID.FSEPGL01E41A145J9999", "--patient", cfA, "-o", filepath.Join(t.TempDir(), "x.pdf")}, exitFault},
				{[]string{"taccuino", "summary", "--patient", cfA}, exitOK},
				{[]string{"taccuino", "rilevazioni", "--patient", cfA, "--limit", "5"}, exitOK},
				{[]string{"taccuino", "farmaci", "--patient", cfA, "--limit", "5"}, exitOK},
				{[]string{"search", "--patient", cfB}, exitConsent},
				{[]string{"delete", ids[2], "--patient", cfA, "--yes"}, exitOK},
				{[]string{"consent", "revoke", "--patient", cfA, "C2", "--yes"}, exitOK},
			}
			for _, st := range steps {
				args := append([]string{"--log-level", level, "--trace-dir", traces, "--data-dir", data, "--output", "table"}, st.args...)
				_, e, code := runReal(t, cfg, data, args...)
				if code != st.want {
					t.Fatalf("%v: exit %d, want %d\n%s", st.args, code, st.want, e)
				}
				if l := leaks(e); len(l) > 0 {
					t.Errorf("%v: stderr at level %s carries %v:\n%s", st.args, level, l, e)
				}
			}
			files, _ := filepath.Glob(filepath.Join(traces, "*.xml"))
			if len(files) < 2*len(steps)-4 {
				t.Fatalf("only %d trace files", len(files))
			}
			for _, f := range files {
				b, _ := os.ReadFile(f)
				if l := leaks(string(b)); len(l) > 0 {
					t.Errorf("trace %s carries %v", filepath.Base(f), l)
				}
			}
		})
	}
	if l := leaks(simLog.b.String()); len(l) > 0 {
		t.Errorf("the simulator's log carries %v", l)
	}
}

// TestDemoCarriesNoPatientData runs the full demo at every log level and greps all it
// writes, stdout (its transcript, with each step's output and logs) and stderr, for the test
// CFs in any case and for the names in its CDAs.
func TestDemoCarriesNoPatientData(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the simulator")
	}
	for _, level := range []string{"debug", "info", "warn", "error"} {
		t.Run(level, func(t *testing.T) {
			empty := filepath.Join(t.TempDir(), "empty.json")
			os.WriteFile(empty, nil, 0o600)
			var o, eo bytes.Buffer
			code := runWith(context.Background(), []string{"fsepuglia", "--config", empty, "--data-dir", t.TempDir(), "--log-level", level, "demo"}, &o, &eo, demoDeps())
			out, errOut := o.String(), eo.String()
			if code != exitOK {
				t.Fatalf("demo exit %d\n%s\n%s", code, out, errOut)
			}
			if level == "debug" && !strings.Contains(out, "level=debug") {
				t.Errorf("the demo's steps did not log at debug")
			}
			if l := leaks(out + errOut); len(l) > 0 {
				t.Errorf("demo at %s carries %v", level, l)
			}
		})
	}
}
