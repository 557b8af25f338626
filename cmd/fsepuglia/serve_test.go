package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
	"github.com/fsepuglia/fsepuglia/adapter/gateway"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/queue/pgqueue/pgtest"
	"github.com/fsepuglia/fsepuglia/adapter/sim"
	"github.com/fsepuglia/fsepuglia/adapter/sim/inject"
)

// TestServeAPIFromPython runs `fsepuglia serve` (the binary, embedded queue, a token file)
// against the simulator and drives its API with testdata/serve_client.py: Python's urllib,
// a client that shares nothing with ours, and Debian's Prometheus text parser for /metrics.
// Then the intake folder (a good file to done/, a bad one to failed/, a file still being
// written left alone), SIGHUP (certificates reloaded, the queue kept), SIGTERM (clean exit)
// and a restart that finds the queue as it was.
func TestServeAPIFromPython(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts the simulator")
	}
	py := "/usr/bin/python3"
	if out, err := exec.Command(py, "-c", "import prometheus_client.parser").CombinedOutput(); err != nil {
		missingChecker(t, "python3-prometheus-client ("+strings.TrimSpace(string(out))+")", "apt-get install python3-prometheus-client")
	}
	bin := buildServeBinary(t)
	// One addDocument in four is refused with HTTP 503 and Retry-After: 1: the workers wait and retry.
	s, err := sim.Start(context.Background(), sim.Options{DataDir: t.TempDir(), InjectSeed: 7,
		Inject: []inject.Rule{{Operation: "addDocument", Rate: 0.25, Kinds: []inject.Kind{inject.Kind503}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cfg := s.ClientConfigPath()
	data, watch := t.TempDir(), t.TempDir()
	tokenFile := filepath.Join(t.TempDir(), "token")
	const token = "0123456789abcdef0123456789abcdef"
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--watch", watch, "--watch-interval", "200ms", "--token-file", tokenFile, "--poll", "100ms"}
	p := startServe(t, bin, cfg, data, args...)
	p.token = token

	docPath := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(docPath, serveDoc("PY", 1), 0o600); err != nil {
		t.Fatal(err)
	}
	otherPath := filepath.Join(t.TempDir(), "other.pdf")
	other := pdfcdatest.PDF{Sign: false, Attachment: pdfcdatest.CDA{PatientCF: cfA, IDExtension: "PY.0001"}.Bytes()}.Bytes()
	if err := os.WriteFile(otherPath, other, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "testdata/serve_client.py", p.url, token, cfA, docPath, otherPath).CombinedOutput()
	t.Logf("serve_client.py:\n%s", out)
	if err != nil {
		t.Fatalf("serve_client.py: %v\nserve log:\n%s", err, tail(p.logs.String()))
	}

	// Intake folder: a good file, a file whose metadata cannot be completed, and a file that
	// is still being written (its size keeps changing), which must not be taken meanwhile.
	good := serveDoc("WATCH", 1)
	dropFile(t, watch, "good.pdf", good)
	dropFile(t, watch, "bad.pdf", []byte("%PDF-1.4 no CDA in here"))
	growing, err := os.Create(filepath.Join(watch, "growing.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	full := serveDoc("WATCH", 2)
	deadline := time.Now().Add(60 * time.Second)
	for countFiles(t, filepath.Join(watch, "done"), "good.pdf") == 0 || countFiles(t, filepath.Join(watch, "failed"), "bad.pdf") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("intake files not settled\n%s", tail(p.logs.String()))
		}
		// Keep writing growing.pdf slowly: it must stay where it is.
		if _, err := growing.Write(full[:min(64, len(full))]); err != nil {
			t.Fatal(err)
		}
		full = full[min(64, len(full)):]
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(watch, "growing.pdf")); err != nil && len(full) > 0 {
		t.Fatalf("a file still being written was taken: %v", err)
	}
	_, _ = growing.Write(full)
	growing.Close()
	var rep intakeReport
	raw, err := os.ReadFile(filepath.Join(watch, "done", "good.pdf.json"))
	if err != nil || json.Unmarshal(raw, &rep) != nil || rep.State != "done" || rep.Outcome != "sent" || rep.Route != "legacy" {
		t.Errorf("done report: %s %v", raw, err)
	}
	raw, err = os.ReadFile(filepath.Join(watch, "failed", "bad.pdf.json"))
	if err != nil || json.Unmarshal(raw, &rep) != nil || rep.State != "invalid" || rep.Reason == "" {
		t.Errorf("failed report: %s %v", raw, err)
	}
	if strings.Contains(string(raw), cfA) {
		t.Errorf("failed report holds the patient's CF: %s", raw)
	}
	id := docmeta.InspectBytes(good, "good.pdf", docmeta.Options{}).Metadata.UniqueID

	// SIGHUP: certificates reloaded; then SIGTERM: clean exit.
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(20 * time.Second)
	for p.metrics()["fsepuglia_certificate_reloads_total"].get("result=ok") != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("no reload after SIGHUP\n%s", tail(p.logs.String()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	deadline = time.Now().Add(20 * time.Second)
	for countFiles(t, filepath.Join(watch, "done"), "growing.pdf") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("growing.pdf not published once complete (after the reload)\n%s", tail(p.logs.String()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	m := p.metrics()
	if n503 := s.InjectCounts()["addDocument"][inject.Kind503]; n503 == 0 || m["fsepuglia_sends_total"].get("fault_class=http-503,outcome=error") != float64(n503) {
		t.Errorf("simulator refused %d sends with 503; metrics count %v", n503, m["fsepuglia_sends_total"].values)
	}
	p.stop()
	logs := p.logs.String()
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log line is not JSON: %q", line)
			break
		}
	}
	if strings.Contains(logs, cfA) || strings.Contains(logs, "FSEPGL01E41A145J") {
		t.Errorf("the log holds the patient's CF")
	}
	if !strings.Contains(logs, `"certificates reloaded"`) || !strings.Contains(logs, `"serve: stopped"`) {
		t.Errorf("log lacks the reload or the stop:\n%s", tail(logs))
	}

	// Restart on the same data directory: the queue is as it was.
	p = startServe(t, bin, cfg, data, args...)
	p.token = token
	var list struct {
		Items []apiItem `json:"items"`
	}
	req := func(path string) {
		t.Helper()
		r, err := p.get(path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		if err := json.NewDecoder(r.Body).Decode(&list); err != nil {
			t.Fatal(err)
		}
	}
	req("/v1/documents?state=done")
	found := false
	for _, it := range list.Items {
		found = found || it.UniqueID == id
	}
	if !found || len(list.Items) < 3 {
		t.Errorf("after a restart the done items are %+v", list.Items)
	}
	p.stop()
}

// TestServeRefusesOpenListen: an address other than loopback needs mutual TLS or a token.
func TestServeRefusesOpenListen(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildServeBinary(t)
	s, err := sim.Start(context.Background(), sim.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cmd := exec.Command(bin, "--config", s.ClientConfigPath(), "--data-dir", t.TempDir(), "serve", "--listen", "0.0.0.0:0")
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errorsAs(err, &ee) || ee.ExitCode() != exitInput {
		t.Fatalf("exit %v, want %d\n%s", err, exitInput, out)
	}
	if !strings.Contains(string(out), "--listen") || !strings.Contains(string(out), "--token-file") {
		t.Errorf("message does not name the flag and the fix:\n%s", out)
	}
}

// TestServeRoutes: in the final scenario serve routes as publish does: a validated, signed LAB
// report goes through the FSE 2.0 middleware (its item shows route middleware and the
// workflowInstanceId), a type the gateway does not support to the legacy service, and a
// document never validated is refused at submission, naming why.
func TestServeRoutes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts the simulator")
	}
	bin := buildServeBinary(t)
	s := startSimWith(t, sim.Options{})
	cfg := withScenario(t, s, "final")
	data, dir := t.TempDir(), t.TempDir()
	lab := writeCDADoc(t, dir, "lab.pdf", pdfcdatest.CDA{IDExtension: "SERVE.LAB.1"}, false)
	presc := writeCDADoc(t, dir, "prescrizione.pdf", pdfcdatest.CDA{IDExtension: "SERVE.PRS.1", TypeCode: "57833-6", TypeDisplay: "Prescrizione farmaceutica"}, true)
	never := writeCDADoc(t, dir, "never.pdf", pdfcdatest.CDA{IDExtension: "SERVE.LAB.2"}, true)
	p := startServe(t, bin, cfg, data, "--poll", "100ms")
	read := func(path string) []byte {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// Validated at the middleware through serve's API (the journal is serve's), then signed.
	var vbuf bytes.Buffer
	mw := multipart.NewWriter(&vbuf)
	fw, _ := mw.CreateFormFile("file", "lab.pdf")
	_, _ = fw.Write(read(lab))
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, p.url+"/v1/validate", &vbuf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := p.do(req)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Valid      bool `json:"valid"`
		Middleware struct {
			Outcome    string `json:"outcome"`
			WII        string `json:"workflow_instance_id"`
			Journalled bool   `json:"journalled"`
		} `json:"middleware"`
	}
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil || !v.Valid || v.Middleware.Outcome != "valid" || v.Middleware.WII == "" || !v.Middleware.Journalled {
		t.Fatalf("validate through the API: %+v %v", v, err)
	}
	res.Body.Close()
	if n := s.Middleware().Calls(gateway.OpValidation); n != 1 {
		t.Errorf("middleware validations: %d", n)
	}
	padesSign(t, s, lab)
	code, body, err := p.post("never.pdf", read(never))
	if err != nil || code != 400 || !strings.Contains(fmt.Sprint(body), "never validated") {
		t.Fatalf("never validated: %d %v %v", code, body, err)
	}
	ids := map[string]string{}
	for _, f := range []string{lab, presc} {
		code, body, err := p.post(filepath.Base(f), read(f))
		if err != nil || code != 202 {
			t.Fatalf("%s: %d %v %v", f, code, body, err)
		}
		ids[filepath.Base(f)] = body["id"].(string)
	}
	got := map[string]apiItem{}
	deadline := time.Now().Add(60 * time.Second)
	for len(got) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("not done: %+v\n%s", got, tail(p.logs.String()))
		}
		for name, id := range ids {
			var it apiItem
			p.getJSON("/v1/documents/"+pathEscapeID(id), &it)
			if it.State == "done" || it.State == "failed" {
				got[name] = it
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if it := got["lab.pdf"]; it.State != "done" || it.Route != "middleware" || it.WorkflowID != v.Middleware.WII {
		t.Errorf("LAB report: %+v", it)
	}
	if it := got["prescrizione.pdf"]; it.State != "done" || it.Route != "legacy" || it.WorkflowID != "" {
		t.Errorf("prescription: %+v", it)
	}
	if n := s.Middleware().Calls(gateway.OpCreate); n != 1 || !s.Middleware().Published("2.16.840.1.113883.2.9.2.160.4.4^SERVE.LAB.1") {
		t.Errorf("middleware publications: %d calls", n)
	}
	if n := s.Calls("addDocument"); n != 1 {
		t.Errorf("legacy addDocument: %d calls, want 1 (the prescription)", n)
	}
	p.stop()
}

// TestQueueCLI: publish --queue, the queue commands and outbox --queue work on serve's queues. On
// PostgreSQL: the CLI records two documents (--enqueue-only), a serve instance sends them,
// the CLI sees them done while serve runs, then publishes a third itself; on the embedded
// queue a running serve holds the file and the CLI says to use its API.
func TestQueueCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts the simulator")
	}
	dsn := pgtest.DSN(t)
	bin := buildServeBinary(t)
	s := startSimWith(t, sim.Options{})
	cfg := s.ClientConfigPath()
	data, dir := t.TempDir(), t.TempDir()
	var files []string
	for i := range 3 {
		f := filepath.Join(dir, fmt.Sprintf("q%d.pdf", i))
		if err := os.WriteFile(f, serveDoc("QCLI", i), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	cli := func(args ...string) (string, string, int) {
		t.Helper()
		return runReal(t, cfg, data, append([]string{"--data-dir", data}, args...)...)
	}
	items := func(out string) []apiItem {
		t.Helper()
		var v struct {
			Items []apiItem `json:"items"`
		}
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return v.Items
	}
	out, e, code := cli("publish", "--queue", dsn, "--enqueue-only", files[0], files[1])
	if code != 0 || len(items(out)) != 2 || items(out)[0].State != "queued" || items(out)[0].Source != "cli" {
		t.Fatalf("publish --enqueue-only: exit %d %s %s", code, out, e)
	}
	if s.Calls("addDocument") != 0 {
		t.Fatal("--enqueue-only sent something")
	}
	out, _, _ = cli("queue", "list", "--queue", dsn, "--state", "queued")
	if len(items(out)) != 2 {
		t.Fatalf("queue list: %s", out)
	}

	p := startServe(t, bin, cfg, t.TempDir(), "--queue", dsn, "--poll", "100ms")
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, _, _ = cli("queue", "list", "--queue", dsn, "--state", "done")
		if len(items(out)) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not send the CLI's items: %s\n%s", out, tail(p.logs.String()))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The outbox commands on the same queue.
	if out, e, code := cli("outbox", "list", "--queue", dsn, "--state", "done"); code != 0 || len(items(out)) != 2 || items(out)[0].Route != "legacy" {
		t.Fatalf("outbox list --queue: exit %d %s %s", code, out, e)
	}
	p.stop()
	out, e, code = cli("publish", "--queue", dsn, files[2])
	if code != 0 || len(items(out)) != 1 || items(out)[0].State != "done" || items(out)[0].Route != "legacy" {
		t.Fatalf("publish --queue (sent by the CLI): exit %d %s %s", code, out, e)
	}
	if n := s.Calls("addDocument"); n != 3 {
		t.Errorf("%d transmissions for 3 documents", n)
	}
	id := items(out)[0].UniqueID
	if out, _, code = cli("queue", "show", "--queue", dsn, id); code != 0 || items(out)[0].UniqueID != id {
		t.Errorf("queue show: %d %s", code, out)
	}
	if out, _, code = cli("outbox", "show", "--queue", dsn, id); code != 0 || items(out)[0].State != "done" {
		t.Errorf("outbox show --queue: %d %s", code, out)
	}
	if _, e, code = cli("outbox", "forget", "--queue", dsn, id); code != 0 {
		t.Errorf("queue forget: %d %s", code, e)
	}
	if _, e, code = cli("queue", "show", "--queue", dsn, id); code != exitInput || !strings.Contains(e, "no such item") {
		t.Errorf("show forgotten: %d %s", code, e)
	}

	// Embedded queue held by a running serve.
	emb := t.TempDir()
	p = startServe(t, bin, cfg, emb)
	_, e, code = runReal(t, cfg, emb, "--data-dir", emb, "queue", "list")
	if code != exitInput || !strings.Contains(e, "running fsepuglia serve") {
		t.Errorf("queue list on a busy embedded queue: exit %d %s", code, e)
	}
	p.stop()
	if _, e, code = runReal(t, cfg, emb, "--data-dir", emb, "queue", "list"); code != 0 {
		t.Errorf("queue list once serve stopped: exit %d %s", code, e)
	}
}
