// Package mwtest starts the middleware simulator over mutual TLS for tests and builds a
// gateway client for it, with a shared, movable clock. Only tests import it.
package mwtest

import (
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
	"github.com/fsepuglia/fsepuglia/adapter/gateway"
	"github.com/fsepuglia/fsepuglia/adapter/pades"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sign"
	"github.com/fsepuglia/fsepuglia/adapter/sim/middleware"
	"github.com/fsepuglia/fsepuglia/adapter/sim/pki"
	"github.com/fsepuglia/fsepuglia/adapter/transport"
)

// Clock is a settable clock shared by the client and the simulator.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Add moves the clock.
func (c *Clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// Env is a running simulator and a client for it.
type Env struct {
	Dir    string
	PKI    *pki.PKI
	Server *middleware.Server
	HTTP   *httptest.Server
	// BaseURL is the simulator's /api/v1.
	BaseURL string
	// Transport is the mutual-TLS client built by adapter/transport.
	Transport *http.Client
	Client    *gateway.Client
	Clock     *Clock
	Identity  gateway.Identity
}

// Profile is the structure profile of the test documents.
var Profile = docmeta.Profile{HealthcareFacilityType: "Ospedale", PracticeSettingCode: "AD_PSC001", RepositoryUniqueID: "2.16.840.1.113883.2.9.2.160.4.5.1",
	StructureCode: "160101", StructureName: "Struttura di prova"}

// Start starts the simulator with opt (Roots, DataDir and Clock are filled in when empty)
// and a client with cfg.
func Start(t testing.TB, opt middleware.Options, cfg gateway.Config) *Env {
	t.Helper()
	dir := opt.DataDir
	if dir == "" {
		dir = t.TempDir()
		opt.DataDir = dir
	}
	clock := &Clock{t: time.Now().UTC().Truncate(time.Second)}
	if opt.Clock == nil {
		opt.Clock = clock.Now
	}
	p, err := pki.Ensure(dir, pki.Options{Now: func() time.Time { return time.Now() }})
	if err != nil {
		t.Fatal(err)
	}
	if opt.Roots == nil {
		opt.Roots = p.SignerRoots()
	}
	srv, err := middleware.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(middleware.PathPrefix+"/", srv)
	hs := httptest.NewUnstartedServer(mux)
	hs.TLS = p.ServerTLSConfig()
	hs.StartTLS()
	t.Cleanup(hs.Close)
	hc, _, err := transport.New(transport.Config{Environment: "local", CertFile: p.Client.CertFile, KeyFile: p.Client.KeyFile,
		CAFile: filepath.Join(p.Dir, pki.FileCACert)})
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{Dir: dir, PKI: p, Server: srv, HTTP: hs, BaseURL: hs.URL + middleware.PathPrefix, Transport: hc, Clock: clock,
		Identity: gateway.Identity{OperatorCF: pdfcdatest.TestCF, Role: "AAS", StructureName: "Struttura di prova", StructureCode: "160101",
			ApplicationID: "fsepuglia-test", ApplicationVendor: "fsepuglia", ApplicationVersion: "1.0"}}
	if cfg.BaseURL == "" {
		cfg.BaseURL = e.BaseURL
	}
	e.Client = e.NewClient(t, cfg)
	return e
}

// NewClient builds another client for the simulator (same transport and identity).
func (e *Env) NewClient(t testing.TB, cfg gateway.Config) *gateway.Client {
	t.Helper()
	return e.NewClientWith(t, cfg, e.Identity)
}

// NewClientWith builds a client with another identity.
func (e *Env) NewClientWith(t testing.TB, cfg gateway.Config, id gateway.Identity) *gateway.Client {
	t.Helper()
	if cfg.BaseURL == "" {
		cfg.BaseURL = e.BaseURL
	}
	c, err := gateway.New(cfg, id, gateway.Options{HTTPClient: e.Transport, Key: e.PKI.Client.Key,
		Chain: []*x509.Certificate{e.PKI.Client.Cert}, Environment: "local", Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Doc builds a test document from c, PAdES-signed (adapter/pades, with the simulator PKI's
// operator certificate) when signed, and inspects it with Profile.
func (e *Env) Doc(t testing.TB, c pdfcdatest.CDA, signed bool) *gateway.Document {
	t.Helper()
	return DocFrom(t, pdfcdatest.PDF{Attachment: c.Bytes()}.Bytes(), signed, e.PKI)
}

// DocFrom signs data (when signed) with p's operator and inspects it with Profile.
func DocFrom(t testing.TB, data []byte, signed bool, p *pki.PKI) *gateway.Document {
	t.Helper()
	if signed {
		s, err := sign.New(p.Operator.Key, p.Operator.Cert)
		if err != nil {
			t.Fatal(err)
		}
		if data, err = pades.SignBytes(data, s, pades.SignOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	d, _, err := gateway.NewDocument(data, "referto.pdf", docmeta.Options{Profile: Profile})
	if err != nil {
		t.Fatal(err)
	}
	return d
}
