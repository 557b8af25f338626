package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/gateway"
	"github.com/fsepuglia/fsepuglia/adapter/pades"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sign"
	"github.com/fsepuglia/fsepuglia/adapter/sim"
	"github.com/fsepuglia/fsepuglia/adapter/sim/inject"
	"github.com/fsepuglia/fsepuglia/adapter/transport"
)

// withScenario writes a copy of the simulator's client configuration in scenario sc.
func withScenario(t *testing.T, s *sim.Server, sc string) string {
	t.Helper()
	return editConfig(t, s.ClientConfigPath(), func(m map[string]any) {
		m["gateway"].(map[string]any)["scenario"] = sc
	})
}

// padesSign signs the PDF at path in place with the simulator PKI's operator (PAdES B-B).
func padesSign(t *testing.T, s *sim.Server, path string) {
	t.Helper()
	p := s.Data().PKI
	sg, err := sign.New(p.Operator.Key, p.Operator.Cert)
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := pades.SignBytes(body, sg, pades.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, signed, 0o600); err != nil {
		t.Fatal(err)
	}
}

// runAt is runReal with a clock.
func runAt(t *testing.T, now time.Time, cfgPath, dataDir string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	d := defaultDeps()
	d.getenv = func(string) string { return "" }
	d.userCacheDir = func() (string, error) { return dataDir, nil }
	d.now = func() time.Time { return now }
	code := runWith(context.Background(), append([]string{"fsepuglia", "--config", cfgPath, "--output", "json"}, args...), &out, &errOut, d)
	return out.String(), errOut.String(), code
}

func publishItems(t *testing.T, out string) []publishItemOutput {
	t.Helper()
	var po publishOutput
	if err := json.Unmarshal([]byte(out), &po); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return po.Items
}

// TestRoutedPublish: in the final scenario `publish` sends a validated, signed LAB report
// through the middleware (mutual TLS, both JWTs) and a type the gateway does not support to
// the legacy service; the route is in the output. What the workflow forbids is refused
// before anything is recorded or sent.
func TestRoutedPublish(t *testing.T) {
	s := startSimWith(t, sim.Options{})
	cfg := withScenario(t, s, "final")
	data := t.TempDir()
	dir := t.TempDir()
	lab := writeCDADoc(t, dir, "lab.pdf", pdfcdatest.CDA{IDExtension: "ROUTE.LAB.1"}, false)
	presc := writeCDADoc(t, dir, "prescrizione.pdf", pdfcdatest.CDA{IDExtension: "ROUTE.PRS.1", TypeCode: "57833-6", TypeDisplay: "Prescrizione farmaceutica"}, true)

	// Not validated yet: refused, nothing recorded.
	_, e, code := runReal(t, cfg, data, "publish", lab)
	if code != exitInput || !strings.Contains(e, "never validated") {
		t.Fatalf("publish before validation: exit %d %s", code, e)
	}
	if _, e, code = runReal(t, cfg, data, "validate", lab); code != 0 {
		t.Fatalf("validate: exit %d %s", code, e)
	}
	// Validated but not signed: the final scenario needs the signed PDF.
	if _, e, code = runReal(t, cfg, data, "publish", lab); code != exitInput || !strings.Contains(e, "PAdES") {
		t.Fatalf("unsigned publication: exit %d %s", code, e)
	}
	padesSign(t, s, lab)
	// Signed, then changed by an incremental update: the signature no longer covers the
	// whole file, the gateway refuses it (/msg/sign-error), so publish refuses it first.
	signedLab, err := os.ReadFile(lab)
	if err != nil {
		t.Fatal(err)
	}
	appended := filepath.Join(dir, "lab-changed.pdf")
	if err := os.WriteFile(appended, append(signedLab, []byte("99 0 obj\n<< /Producer (altro) >>\nendobj\n%%EOF\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, e, code = runReal(t, cfg, data, "publish", appended); code != exitInput || !strings.Contains(e, "does not verify over the whole file") {
		t.Fatalf("publication changed after signing: exit %d %s", code, e)
	}
	// Day 6 after the validation: refused here with the reason.
	if _, e, code = runAt(t, time.Now().Add(6*24*time.Hour), cfg, data, "publish", lab); code != exitInput || !strings.Contains(e, "more than 5 days") {
		t.Fatalf("day 6: exit %d %s", code, e)
	}
	if n := s.Middleware().Accepted(gateway.OpCreate); n != 0 {
		t.Fatalf("%d publications reached the middleware before the routed run", n)
	}

	out, e, code := runReal(t, cfg, data, "publish", lab, presc)
	if code != 0 {
		t.Fatalf("routed publish: exit %d\n%s\n%s", code, out, e)
	}
	routes := map[string]string{}
	for _, it := range publishItems(t, out) {
		routes[filepath.Base(it.Path)] = it.Route + " " + it.State
	}
	if routes["lab.pdf"] != "middleware done" || routes["prescrizione.pdf"] != "legacy done" {
		t.Fatalf("routes %v", routes)
	}
	if !s.Middleware().Published("2.16.840.1.113883.2.9.2.160.4.4^ROUTE.LAB.1") || s.Middleware().Accepted(gateway.OpCreate) != 1 {
		t.Fatal("the LAB report did not reach the middleware once")
	}
	legacy := func(id string) bool {
		_, rc, err := s.Data().Store.Get(id)
		if err == nil {
			rc.Close()
		}
		return err == nil
	}
	if !legacy("2.16.840.1.113883.2.9.2.160.4.4^ROUTE.PRS.1") {
		t.Fatal("the prescription did not reach the legacy service")
	}
	if legacy("2.16.840.1.113883.2.9.2.160.4.4^ROUTE.LAB.1") {
		t.Fatal("the LAB report also went to the legacy service")
	}
	// Table output names the route.
	tbl, _, _ := runReal(t, cfg, data, "--output", "table", "publish", lab, presc)
	if !strings.Contains(tbl, "route lab.pdf") || !strings.Contains(tbl, "middleware") {
		t.Fatalf("table: %s", tbl)
	}

	// The CDA changed after validation (another title), signed anyway: refused here.
	changed := writeCDADoc(t, dir, "lab-v2.pdf", pdfcdatest.CDA{IDExtension: "ROUTE.LAB.2"}, false)
	if _, e, code = runReal(t, cfg, data, "validate", changed); code != 0 {
		t.Fatal(e)
	}
	edited := pdfcdatest.CDA{IDExtension: "ROUTE.LAB.2", BodyPadding: 40}
	_ = os.WriteFile(changed, pdfcdatest.PDF{Attachment: edited.Bytes()}.Bytes(), 0o600)
	padesSign(t, s, changed)
	if _, e, code = runReal(t, cfg, data, "publish", changed); code != exitInput || !strings.Contains(e, "CDA changed") {
		t.Fatalf("changed CDA: exit %d %s", code, e)
	}

	// Intermediate scenario: validated documents go to the legacy service.
	inter := withScenario(t, s, "intermediate")
	lab3 := writeCDADoc(t, dir, "lab3.pdf", pdfcdatest.CDA{IDExtension: "ROUTE.LAB.3"}, false)
	if _, e, code = runReal(t, inter, data, "publish", lab3); code != exitInput {
		t.Fatalf("intermediate, not validated: exit %d %s", code, e)
	}
	runReal(t, inter, data, "validate", lab3)
	padesSign(t, s, lab3)
	out, e, code = runReal(t, inter, data, "publish", lab3)
	if code != 0 || publishItems(t, out)[0].Route != "legacy" {
		t.Fatalf("intermediate: exit %d %s %s", code, out, e)
	}
	if s.Middleware().Accepted(gateway.OpCreate) != 1 {
		t.Fatal("intermediate publication reached the middleware")
	}
}

// TestMiddlewareKillAndResume: a batch of publications through the middleware is SIGKILLed
// in the middle; the same command run again reconciles in-doubt items with Status before any
// resend and finishes: every document published once, counted at the simulator.
func TestMiddlewareKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts the simulator")
	}
	const nDocs = 8
	bin := filepath.Join(t.TempDir(), "fsepuglia")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	s := startSimWith(t, sim.Options{Inject: []inject.Rule{{Operation: "gtw-create", Latency: 300 * time.Millisecond}}})
	cfg := withScenario(t, s, "final")
	data := t.TempDir()
	docs := t.TempDir()
	var ids []string
	var files []string
	for i := range nDocs {
		p := writeCDADoc(t, docs, fmt.Sprintf("doc%02d.pdf", i), pdfcdatest.CDA{IDExtension: fmt.Sprintf("MWKILL.%02d", i)}, false)
		files = append(files, p)
		ids = append(ids, fmt.Sprintf("2.16.840.1.113883.2.9.2.160.4.4^MWKILL.%02d", i))
	}
	if _, e, code := runReal(t, cfg, data, append([]string{"validate"}, files...)...); code != 0 {
		t.Fatalf("validate: exit %d %s", code, e)
	}
	for _, f := range files {
		padesSign(t, s, f)
	}
	command := func() *exec.Cmd {
		cmd := exec.Command(bin, "--config", cfg, "--data-dir", filepath.Join(data, "fsepuglia"), "publish", "--dir", docs, "--concurrency", "2")
		cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
		return cmd
	}
	mw := s.Middleware()
	first := command()
	var firstOut strings.Builder
	first.Stdout, first.Stderr = &firstOut, &firstOut
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for mw.Accepted(gateway.OpCreate) < 2 {
		if time.Now().After(deadline) {
			first.Process.Kill()
			first.Wait()
			t.Fatalf("fewer than 2 publications after 60s\n%s", firstOut.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	if ws, ok := first.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("first run was not killed\n%s", firstOut.String())
	}
	time.Sleep(700 * time.Millisecond) // requests in flight land
	atKill := mw.Accepted(gateway.OpCreate)
	if atKill >= nDocs {
		t.Fatalf("all %d published before the kill: not slow enough", atKill)
	}
	t.Logf("killed with %d of %d published", atKill, nDocs)
	if out, err := command().CombinedOutput(); err != nil {
		t.Fatalf("resumed run: %v\n%s", err, out)
	}
	if n := mw.Accepted(gateway.OpCreate); n != nDocs {
		t.Fatalf("the middleware accepted %d publications, want exactly %d (one per document)", n, nDocs)
	}
	// No published document was sent again: in-doubt items were looked up with Status.
	if d := mw.Duplicates(); d != 0 {
		t.Fatalf("%d publications were sent again after they had been accepted", d)
	}
	t.Logf("resumed: %d create requests in all, %d status lookups", mw.Calls(gateway.OpCreate), mw.Calls(gateway.OpStatus))
	for _, id := range ids {
		if !mw.Published(id) {
			t.Errorf("%s not published", id)
		}
	}
}

// TestRoutedReplaceDelete: in the final scenario replace and delete of a document published
// through the middleware go there too (delete finds the route in the outbox, or --via).
func TestRoutedReplaceDelete(t *testing.T) {
	s := startSimWith(t, sim.Options{})
	cfg := withScenario(t, s, "final")
	data, dir := t.TempDir(), t.TempDir()
	v1 := writeCDADoc(t, dir, "v1.pdf", pdfcdatest.CDA{IDExtension: "RD.1"}, false)
	v2 := writeCDADoc(t, dir, "v2.pdf", pdfcdatest.CDA{IDExtension: "RD.2"}, false)
	v3 := writeCDADoc(t, dir, "v3.pdf", pdfcdatest.CDA{IDExtension: "RD.3"}, false)
	for _, f := range []string{v1, v3} {
		if _, e, code := runReal(t, cfg, data, "validate", f); code != 0 {
			t.Fatal(e)
		}
		padesSign(t, s, f)
		if _, e, code := runReal(t, cfg, data, "publish", f); code != 0 {
			t.Fatal(e)
		}
	}
	id1, id2, id3 := "2.16.840.1.113883.2.9.2.160.4.4^RD.1", "2.16.840.1.113883.2.9.2.160.4.4^RD.2", "2.16.840.1.113883.2.9.2.160.4.4^RD.3"
	// The new version is not validated yet: refused before sending.
	if _, e, code := runReal(t, cfg, data, "replace", id1, v2); code != exitInput || !strings.Contains(e, "never validated") {
		t.Fatalf("replace before validation: exit %d %s", code, e)
	}
	if _, e, code := runReal(t, cfg, data, "validate", "--action", "UPDATE", v2); code != 0 {
		t.Fatal(e)
	}
	padesSign(t, s, v2)
	out, e, code := runReal(t, cfg, data, "replace", id1, v2)
	if code != 0 || !strings.Contains(out, `"route": "middleware"`) {
		t.Fatalf("replace: exit %d %s %s", code, out, e)
	}
	mw := s.Middleware()
	if mw.Published(id1) || !mw.Published(id2) || mw.Accepted(gateway.OpReplace) != 1 {
		t.Fatal("the replace did not happen at the middleware")
	}
	// delete: v3 was published by the outbox through the middleware, so delete goes there.
	if out, e, code = runReal(t, cfg, data, "delete", id3, "--patient", pdfcdatest.PatientCF, "--yes"); code != 0 || mw.Published(id3) {
		t.Fatalf("delete of a middleware document: exit %d %s %s", code, out, e)
	}
	// v2 came by replace (not in the outbox): --via middleware.
	if _, e, code = runReal(t, cfg, data, "delete", id2, "--patient", pdfcdatest.PatientCF, "--yes", "--via", "middleware"); code != 0 || mw.Published(id2) {
		t.Fatalf("delete --via middleware: exit %d %s", code, e)
	}
	if mw.Accepted(gateway.OpDelete) != 2 {
		t.Fatalf("%d deletes at the middleware", mw.Accepted(gateway.OpDelete))
	}
	if _, _, code = runReal(t, cfg, data, "delete", id2, "--patient", pdfcdatest.PatientCF, "--yes", "--via", "nowhere"); code != exitInput {
		t.Fatalf("--via nowhere: exit %d", code)
	}
}

// lossy forwards requests and loses the answer of the first publication: it reached the
// middleware, the client does not know.
type lossy struct {
	inner http.RoundTripper
	lost  atomic.Int32
}

func (l *lossy) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.inner.RoundTrip(r)
	if err == nil && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/documents") && l.lost.Add(1) == 1 {
		resp.Body.Close()
		return nil, errors.New("connection reset by peer (simulated: the answer was lost)")
	}
	return resp, err
}

// TestInDoubtReconciledWithStatus: a publication whose answer was lost is, on resume, looked
// up with Status on its workflowInstanceId and found: not sent again.
func TestInDoubtReconciledWithStatus(t *testing.T) {
	s := startSimWith(t, sim.Options{})
	cfgPath := withScenario(t, s, "final")
	data, dir := t.TempDir(), t.TempDir()
	doc := writeCDADoc(t, dir, "lab.pdf", pdfcdatest.CDA{IDExtension: "INDOUBT.1"}, false)
	if _, e, code := runReal(t, cfgPath, data, "validate", doc); code != 0 {
		t.Fatal(e)
	}
	padesSign(t, s, doc)
	tr := &lossy{}
	run := func(args ...string) (string, string, int) {
		var out, errOut bytes.Buffer
		d := defaultDeps()
		d.getenv = func(string) string { return "" }
		d.userCacheDir = func() (string, error) { return data, nil }
		d.newGateway = func(cfg adapter.Config) (gatewayAPI, error) {
			hc, _, err := transport.New(transport.Config{Environment: cfg.Environment, CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile, CAFile: cfg.TLS.CAFile})
			if err != nil {
				return nil, err
			}
			if tr.inner == nil {
				tr.inner = hc.Transport
			}
			key, chain, _, err := adapter.GatewaySigner(cfg)
			if err != nil {
				return nil, err
			}
			return gateway.New(cfg.Gateway, gateway.Identity{OperatorCF: cfg.Operator.CF, Role: cfg.Operator.Role, StructureName: cfg.Structure.Name,
				StructureCode: cfg.Structure.Code, ApplicationID: cfg.Application.ID, ApplicationVendor: cfg.Application.Vendor, ApplicationVersion: cfg.Application.Version},
				gateway.Options{HTTPClient: &http.Client{Transport: tr}, Key: key, Chain: chain, Environment: cfg.Environment})
		}
		code := runWith(context.Background(), append([]string{"fsepuglia", "--config", cfgPath, "--output", "json"}, args...), &out, &errOut, d)
		return out.String(), errOut.String(), code
	}
	out, e, code := run("publish", doc)
	if code != exitPartial {
		t.Fatalf("first run (answer lost): exit %d %s %s", code, out, e)
	}
	mw := s.Middleware()
	if mw.Accepted(gateway.OpCreate) != 1 {
		t.Fatal("the publication did not reach the middleware")
	}
	out, e, code = run("publish", "--resume")
	if code != 0 || !strings.Contains(out, `"already_present": 1`) {
		t.Fatalf("resume: exit %d %s %s", code, out, e)
	}
	if mw.Calls(gateway.OpCreate) != 1 || mw.Duplicates() != 0 || mw.Calls(gateway.OpStatus) < 1 {
		t.Fatalf("create calls %d, duplicates %d, status calls %d: want 1, 0, ≥1", mw.Calls(gateway.OpCreate), mw.Duplicates(), mw.Calls(gateway.OpStatus))
	}
}

// TestSignAfterValidation: in the intermediate and final scenarios `sign --pdf` signs a
// supported document only after the middleware validated it; in the current scenario, or for
// a type the gateway does not support, it signs at once.
func TestSignAfterValidation(t *testing.T) {
	s := startSimWith(t, sim.Options{})
	data, dir := t.TempDir(), t.TempDir()
	doc := writeCDADoc(t, dir, "lab.pdf", pdfcdatest.CDA{IDExtension: "SIGN.1"}, false)
	presc := writeCDADoc(t, dir, "presc.pdf", pdfcdatest.CDA{IDExtension: "SIGN.2", TypeCode: "57833-6"}, false)
	for _, sc := range []string{"intermediate", "final"} {
		cfg := withScenario(t, s, sc)
		if _, e, code := runReal(t, cfg, data, "sign", "--pdf", doc, "-o", filepath.Join(dir, sc+".pdf")); code != exitInput || !strings.Contains(e, "never validated") {
			t.Fatalf("%s: sign before validation: exit %d %s", sc, code, e)
		}
		if _, e, code := runReal(t, cfg, data, "sign", "--pdf", presc, "-o", filepath.Join(dir, sc+"-presc.pdf")); code != 0 {
			t.Fatalf("%s: unsupported type: exit %d %s", sc, code, e)
		}
	}
	if _, e, code := runReal(t, s.ClientConfigPath(), data, "sign", "--pdf", doc, "-o", filepath.Join(dir, "current.pdf")); code != 0 {
		t.Fatalf("current scenario: exit %d %s", code, e)
	}
	final := withScenario(t, s, "final")
	if _, e, code := runReal(t, final, data, "validate", doc); code != 0 {
		t.Fatal(e)
	}
	if _, e, code := runReal(t, final, data, "sign", "--pdf", doc, "-o", filepath.Join(dir, "validated.pdf")); code != 0 {
		t.Fatalf("after validation: exit %d %s", code, e)
	}
}
