package adapter_test

import (
	"bytes"
	"context"
	"crypto"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/internal/testenv"
	"github.com/fsepuglia/fsepuglia/adapter/sim"
	"github.com/fsepuglia/fsepuglia/adapter/transport"
	"github.com/fsepuglia/fsepuglia/adapter/wssec"
	"github.com/fsepuglia/fsepuglia/adapter/wssec/wssectest"
)

// wire keeps every request body the client transmits and the status of its answer.
type wire struct {
	rt     http.RoundTripper
	mu     sync.Mutex
	bodies [][]byte
	bad    int // answers other than HTTP 200
}

func (w *wire) RoundTrip(r *http.Request) (*http.Response, error) {
	b, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(b))
	res, err := w.rt.RoundTrip(r2)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.bodies = append(w.bodies, b)
	if err == nil && res.StatusCode != http.StatusOK {
		w.bad++
	}
	return res, err
}

var (
	reSigValue = regexp.MustCompile(`<SignatureValue>([^<]+)</SignatureValue>`)
	reCreated  = regexp.MustCompile(`<wsu:Created>([^<]+)</wsu:Created>`)
)

// TestPreparedSignaturesOnTheWire runs the real client against the simulator (mutual TLS,
// signature and SAML checks, replay cache) for a stream of searches of one patient, one
// after the other and then from four goroutines: every message is accepted, carries its own
// signature value and Created, the signing key did exactly one RSA operation per message
// transmitted plus the prepared headers dropped unused (at most one per key, at Close),
// xmlsec1 accepts envelopes that carried a prepared header, and Close leaves no goroutine.
func TestPreparedSignaturesOnTheWire(t *testing.T) {
	dir := t.TempDir()
	srv, err := sim.Start(context.Background(), sim.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	cfg, err := adapter.LoadConfig(srv.ClientConfigPath())
	if err != nil {
		t.Fatal(err)
	}
	sc := transport.Config{CertFile: cfg.Signer.CertFile, KeyFile: cfg.Signer.KeyFile, PKCS12File: cfg.Signer.PKCS12File, KeyPassword: cfg.Signer.KeyPassword}
	if sc.CertFile == "" && sc.PKCS12File == "" {
		sc = transport.Config{CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile, PKCS12File: cfg.TLS.PKCS12File, KeyPassword: cfg.TLS.KeyPassword}
	}
	tc, err := transport.LoadCertificate(sc)
	if err != nil {
		t.Fatal(err)
	}
	key := &wssectest.CountingSigner{Signer: tc.PrivateKey.(crypto.Signer)}
	hc, _, err := transport.New(transport.Config{Environment: cfg.Environment, CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile,
		PKCS12File: cfg.TLS.PKCS12File, KeyPassword: cfg.TLS.KeyPassword, CAFile: cfg.TLS.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	w := &wire{rt: hc.Transport}
	c, err := adapter.New(cfg, adapter.WithSigner(key, tc.Leaf), adapter.WithHTTPClient(&http.Client{Transport: w}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const patient = "FSEPGL01E41A145J" // published test identity
	if _, err := c.Consents.Set(ctx, adapter.ConsentChange{PatientCF: patient, Values: map[adapter.ConsentCode]bool{"C2": true, "C3": true}}); err != nil {
		t.Fatal(err)
	}
	search := func() {
		if _, err := c.Documents.Search(ctx, adapter.SearchQuery{PatientCF: patient, Limit: 10}); err != nil {
			t.Error(err)
		}
	}
	var prepared [][]byte // envelopes that carried a header prepared in the background
	for range 10 {
		before := c.SignatureStats().Used
		search()
		if c.SignatureStats().Used > before {
			w.mu.Lock()
			prepared = append(prepared, w.bodies[len(w.bodies)-1])
			w.mu.Unlock()
		}
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				search()
			}
		}()
	}
	wg.Wait()
	c.Close()
	if n := preparing(); n != 0 {
		t.Errorf("%d preparation goroutines left after Close", n)
	}

	st := c.SignatureStats()
	msgs := len(w.bodies)
	if w.bad != 0 {
		t.Errorf("%d of %d messages refused", w.bad, msgs)
	}
	if msgs < 10+20 || st.Inline+st.Used != uint64(msgs) { // the consent change makes a few calls too
		t.Errorf("%d messages sent, stats %+v", msgs, st)
	}
	if ops := key.N.Load(); ops != int64(msgs)+int64(st.Discarded) || ops != int64(st.Inline+st.Prepared) || st.Failed != 0 {
		t.Errorf("%d RSA operations for %d messages, stats %+v", ops, msgs, st)
	}
	if st.Discarded > 3 { // each key of the consent change and the search key may leave one at Close
		t.Errorf("%d prepared headers wasted, stats %+v", st.Discarded, st)
	}
	if len(prepared) == 0 {
		t.Fatalf("no sequential search carried a prepared header (stats %+v)", st)
	}
	sigs, created := map[string]bool{}, map[string]bool{}
	for _, b := range w.bodies {
		sv, cr := reSigValue.FindSubmatch(b), reCreated.FindSubmatch(b)
		if sv == nil || cr == nil {
			t.Fatalf("no signature or Created in\n%s", b)
		}
		if sigs[string(sv[1])] || created[string(cr[1])] {
			t.Errorf("a signature value or a Created sent twice (%s)", cr[1])
		}
		sigs[string(sv[1])], created[string(cr[1])] = true, true
	}

	xmlsec1 := testenv.Tool(t, "xmlsec1", "apt-get install xmlsec1")
	xdir, err := os.MkdirTemp("", "adapter-presign-") // xmlsec1 splits file names on commas
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(xdir) })
	certPath := filepath.Join(xdir, "signer.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tc.Leaf.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	for i, env := range [][]byte{prepared[0], prepared[len(prepared)-1]} {
		p := filepath.Join(xdir, "env"+string(rune('0'+i))+".xml")
		if err := os.WriteFile(p, env, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(xmlsec1, "--verify", "--pubkey-cert-pem", certPath,
			"--id-attr:Id", wssec.NSWSU+":Timestamp",
			"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
			"--node-xpath", "/*[local-name()='Envelope']/*[local-name()='Header']/*[local-name()='Security']/*[local-name()='Signature']",
			p).CombinedOutput()
		if err != nil {
			t.Errorf("xmlsec1 refuses an envelope with a prepared header:\n%s", out)
		}
	}
}

// preparing counts the goroutines running a signature preparation.
func preparing() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "wssec.(*Presigner).prepare(")
}
