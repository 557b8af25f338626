package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var (
	serveBinOnce sync.Once
	serveBin     string
	serveBinErr  error
)

// buildServeBinary builds the fsepuglia binary once per test run.
func buildServeBinary(t *testing.T) string {
	t.Helper()
	serveBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "fsepuglia-serve-bin")
		if err != nil {
			serveBinErr = err
			return
		}
		serveBin = filepath.Join(dir, "fsepuglia")
		out, err := exec.Command("go", "build", "-o", serveBin, ".").CombinedOutput()
		if err != nil {
			serveBinErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if serveBinErr != nil {
		t.Fatal(serveBinErr)
	}
	return serveBin
}

// serveProc is a running `fsepuglia serve`.
type serveProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	url  string
	logs *syncBuffer
	done chan struct{}
	// token, when set, is sent as the bearer token.
	token string
}

func (p *serveProc) do(req *http.Request) (*http.Response, error) {
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	return serveHTTP.Do(req)
}

func (p *serveProc) get(path string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, p.url+path, nil)
	if err != nil {
		return nil, err
	}
	return p.do(req)
}

// startServe runs the binary with `--config cfg --data-dir data serve --listen 127.0.0.1:0 args…`
// and waits for its "listening on" line.
func startServe(t *testing.T, bin, cfg, data string, args ...string) *serveProc {
	t.Helper()
	all := append([]string{"--config", cfg, "--data-dir", data, "serve", "--listen", "127.0.0.1:0"}, args...)
	cmd := exec.Command(bin, all...)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &serveProc{t: t, cmd: cmd, logs: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				urlc <- u
			}
		}
	}()
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.kill() })
	select {
	case p.url = <-urlc:
	case <-p.done:
		t.Fatalf("serve exited at start: %v\n%s", cmd.ProcessState, p.logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not start\n%s", p.logs.String())
	}
	return p
}

func (p *serveProc) kill() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *serveProc) stop() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		p.t.Fatalf("serve did not stop on SIGTERM\n%s", p.logs.String())
	}
	if !p.cmd.ProcessState.Success() {
		p.t.Errorf("serve exited with %v after SIGTERM\n%s", p.cmd.ProcessState, p.logs.String())
	}
}

var serveHTTP = &http.Client{Timeout: 30 * time.Second}

// post submits a document to the API.
func (p *serveProc) post(name string, body []byte) (int, map[string]any, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		return 0, nil, err
	}
	_, _ = fw.Write(body)
	_ = mw.Close()
	req, err := http.NewRequest(http.MethodPost, p.url+"/v1/documents", &buf)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := p.do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	var out map[string]any
	err = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out, err
}

func (p *serveProc) getJSON(path string, v any) int {
	p.t.Helper()
	res, err := p.get(path)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		p.t.Fatalf("GET %s: %v", path, err)
	}
	return res.StatusCode
}

// metrics scrapes /metrics and parses it with the Prometheus text parser.
func (p *serveProc) metrics() map[string]*dto {
	p.t.Helper()
	res, err := p.get("/metrics")
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(raw))
	if err != nil {
		p.t.Fatalf("/metrics does not parse with the Prometheus text parser: %v", err)
	}
	out := map[string]*dto{}
	for name, f := range fams {
		d := &dto{values: map[string]float64{}}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount())
			d.values[strings.Join(labels, ",")] += v
		}
		out[name] = d
	}
	return out
}

// dto holds one metric family's values by label set ("state=done").
type dto struct{ values map[string]float64 }

func (d *dto) get(labels string) float64 {
	if d == nil {
		return 0
	}
	return d.values[labels]
}

func (d *dto) sum() float64 {
	if d == nil {
		return 0
	}
	s := 0.0
	for _, v := range d.values {
		s += v
	}
	return s
}

// serveDoc is a small signed PDF with a CDA for cfA, numbered i.
func serveDoc(prefix string, i int) []byte {
	return pdfcdatest.PDF{Sign: true, Attachment: pdfcdatest.CDA{PatientCF: cfA, IDExtension: fmt.Sprintf("%s.%04d", prefix, i)}.Bytes()}.Bytes()
}

// dropFile writes a file into an intake folder the safe way: a dot file, then a rename.
func dropFile(t *testing.T, dir, name string, body []byte) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name+".part")
	if err := os.WriteFile(tmp, body, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func countFiles(t *testing.T, dir, pattern string) int {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// missingChecker is adapter/internal/testenv.Missing for this package (which cannot import
// it): a skip, or a failure under FSEPUGLIA_REQUIRE_CHECKERS=1 (CI).
func missingChecker(t *testing.T, what, hint string) {
	t.Helper()
	msg := fmt.Sprintf("independent check skipped: %s (%s)", what, hint)
	if os.Getenv("FSEPUGLIA_REQUIRE_CHECKERS") == "1" {
		t.Fatalf("%s; FSEPUGLIA_REQUIRE_CHECKERS=1 makes this a failure", msg)
	}
	t.Skip(msg)
}
