// Package sim is the simulator's SOAP wire layer: an HTTPS server (mutual TLS by default)
// that answers the three legacy FSE services (IDocumentService, IGestoreConsensoService,
// ITaccuinoService) under the real paths, checks WS-Security and SAML with adapter/wssec,
// validates requests and documents, and applies the consultation rules of adapter/sim/core.
//
// Start runs it in-process for tests and for `fsepuglia sim`. Faults follow the project's
// shape (wsdl/FAULTS.md): HTTP 500, faultstring "FSE-NNNNN - <text>", faultactor the
// portType, detail/fse:errorCode. Fault texts and log lines never carry fiscal codes,
// names or document content.
package sim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/sim/core"
	"github.com/fsepuglia/fsepuglia/adapter/sim/inject"
	"github.com/fsepuglia/fsepuglia/adapter/sim/middleware"
	"github.com/fsepuglia/fsepuglia/adapter/wssec"
)

// MaxTimestampLifetime is the longest wsu:Timestamp lifetime (Expires - Created) the simulator
// accepts: the client's default (5 minutes) plus the clock skew wssec.Verify allows. A longer
// one would let a captured message be replayed for as long as its sender chose.
const MaxTimestampLifetime = 5*time.Minute + wssec.DefaultSkew

// replayKey is the replay-cache key of a verified message: a digest of its signature value
// (which binds the signed Timestamp and the assertion) and of the operation element
// (bodyDigest: elementDigest of its parsed tree, so a re-sent message whose body differs
// only in prefixes or attribute quoting is a replay too). The
// body takes part because the Puglia profile does not sign it: two messages one client signs
// in the same millisecond for the same patient carry identical signatures, and must not be
// taken for a replay of each other; a captured message re-sent as it is, or under another
// MessageID, is one.
func replayKey(msg *wssec.Message, bodyDigest []byte) string {
	h := sha256.New()
	h.Write([]byte(msg.SignatureValue))
	h.Write([]byte{0})
	h.Write(bodyDigest)
	return "sig:" + hex.EncodeToString(h.Sum(nil))
}

// checkTransport refuses, before the body is read, what a SOAP 1.1 service refuses: a
// Content-Type other than text/xml (JSON, none, SOAP 1.2's application/soap+xml) and a
// Content-Length over the size cap (the body is then not read at all).
func checkTransport(r *http.Request, maxBody int64) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "text/xml" {
		return fault(CodeInvalid, "Content-Type %q: SOAP 1.1 is sent as text/xml", r.Header.Get("Content-Type"))
	}
	if r.ContentLength > maxBody {
		return fault(CodeInvalid, "request larger than %d bytes (Content-Length %d)", maxBody, r.ContentLength)
	}
	return nil
}

// DefaultMaxBody is the request size cap when Options.MaxBody is zero.
const DefaultMaxBody int64 = 64 << 20

// Service names served under every ASL prefix.
const (
	ServiceDocument = "IDocumentService"
	ServiceConsenso = "IGestoreConsensoService"
	ServiceTaccuino = "ITaccuinoService"
)

// Services lists the three service names.
var Services = []string{ServiceDocument, ServiceConsenso, ServiceTaccuino}

// Prefixes lists the path prefixes (tenants) served: the test tenant and the six ASLs.
var Prefixes = []string{"aslba_test", "aslba", "aslbt", "aslbr", "aslle", "aslfg", "aslta"}

// ErrNotLoopback is returned by Start for an address that is not on the loopback interface.
var ErrNotLoopback = errors.New("sim: the simulator listens only on a loopback address (127.0.0.1, ::1, localhost)")

// Logger receives one line per event (start, each request's operation and outcome). Lines
// never hold fiscal codes, names or document content. *log.Logger and logrus satisfy it.
type Logger interface {
	Printf(format string, args ...any)
}

// Options configure Start.
type Options struct {
	// DataDir holds the PKI, the store and the client configuration (required).
	DataDir string
	// Addr is the listen address; "127.0.0.1:0" when empty. Only loopback addresses are accepted.
	Addr string
	// PlainHTTP serves plain HTTP instead of HTTPS with client-certificate authentication.
	PlainHTTP bool
	// RequireSignedCDA turns on the FSE-10001 rule (#1005): a publication whose CDA carries
	// no valid XML signature is refused. Off by default only until the demo's and the CLI
	// tests' documents carry a signed CDA (issue 10); the simulator's own tests run with it.
	RequireSignedCDA bool
	// CDAVerifier checks the CDA's XML signature under RequireSignedCDA; nil means
	// XAdESVerifier (adapter/xades) without trust anchors.
	CDAVerifier CDAVerifier
	// Relaxed accepts messages without WS-Security (for interoperability checks with other
	// SOAP stacks); the requester is then read from the richiedente block. Never the default.
	Relaxed bool
	// Inject adds fault injection per operation.
	Inject []inject.Rule
	// InjectSeed makes the injected failure sequence reproducible.
	InjectSeed uint64
	// Clock is the time source for Timestamp checks and stored times; time.Now when nil.
	Clock func() time.Time
	// MaxBody caps a request's size; DefaultMaxBody when zero.
	MaxBody int64
	// Logger receives event lines; nil discards them.
	Logger Logger
	// OnRequest, when set, is called with the service name and the whole envelope of every
	// POST that reaches the service itself (after fault injection let it through, before any
	// check, whatever the answer will be): tests count transmissions with it, not
	// acceptances. It runs on the request's goroutine and must not keep envelope.
	OnRequest func(service string, envelope []byte)
	// Core is passed to core.Open (PKI identities, store options, seeding).
	Core core.Options
	// Middleware configures the FSE 2.0 middleware served under /api/v1 (DataDir, Roots,
	// Clock and Logger are filled in from the options above).
	Middleware middleware.Options
}

// Server is a running simulator.
type Server struct {
	opt       Options
	data      *core.Data
	srv       *http.Server
	ln        net.Listener
	url       string
	cfgPath   string
	injector  *inject.Injector
	mwInject  *inject.Injector
	mw        *middleware.Server
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error

	trust wssec.TrustCache // signer certificates whose chain to the PKI's CA verified

	callsMu sync.Mutex
	calls   map[string]int // SOAP operation -> requests received (transmissions, whatever the answer)
}

// Start opens the data directory, writes the client configuration and starts serving.
// Close the returned Server to stop it.
func Start(ctx context.Context, opt Options) (*Server, error) {
	if opt.DataDir == "" {
		return nil, errors.New("sim: DataDir is required")
	}
	dir, err := filepath.Abs(opt.DataDir)
	if err != nil {
		return nil, fmt.Errorf("sim: data directory: %w", err)
	}
	opt.DataDir = dir
	if opt.Addr == "" {
		opt.Addr = "127.0.0.1:0"
	}
	if err := checkLoopback(opt.Addr); err != nil {
		return nil, err
	}
	if opt.Clock == nil {
		opt.Clock = time.Now
	}
	if opt.MaxBody <= 0 {
		opt.MaxBody = DefaultMaxBody
	}
	if opt.Core.Store.Now == nil {
		opt.Core.Store.Now = opt.Clock
	}
	if opt.Core.PKI.Now == nil {
		opt.Core.PKI.Now = opt.Clock
	}
	data, err := core.Open(opt.DataDir, opt.Core)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	s := &Server{opt: opt, data: data, done: make(chan struct{})}

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", opt.Addr)
	if err != nil {
		_ = data.Close()
		return nil, fmt.Errorf("sim: listen: %w", err)
	}
	scheme := "https"
	if opt.PlainHTTP {
		scheme = "http"
	}
	s.url = scheme + "://" + ln.Addr().String()

	var h http.Handler = http.HandlerFunc(s.serveSOAP)
	if opt.OnRequest != nil {
		inner := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, "request body: "+err.Error(), http.StatusBadRequest)
				return // never arrived whole: not a transmission
			}
			_, name, _ := splitPath(r.URL.Path)
			opt.OnRequest(name, body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			inner.ServeHTTP(w, r)
		})
	}
	if len(opt.Inject) > 0 {
		in, err := inject.New(inject.Config{Rules: opt.Inject, Seed: opt.InjectSeed}, h)
		if err != nil {
			_ = ln.Close()
			_ = data.Close()
			return nil, fmt.Errorf("sim: %w", err)
		}
		s.injector = in
		h = in
	}
	soapHandler := h

	// The FSE 2.0 middleware beside the legacy services, on the same mutual TLS; JWT
	// certificates are trusted when issued by the simulator's CA.
	mo := opt.Middleware
	mo.DataDir = opt.DataDir
	if mo.Roots == nil {
		mo.Roots = data.PKI.SignerRoots()
	}
	if mo.Clock == nil {
		mo.Clock = opt.Clock
	}
	if mo.Logger == nil && opt.Logger != nil {
		mo.Logger = opt.Logger
	}
	if s.mw, err = middleware.New(mo); err != nil {
		_ = ln.Close()
		_ = data.Close()
		return nil, fmt.Errorf("sim: %w", err)
	}
	var mwHandler http.Handler = s.mw
	if len(opt.Inject) > 0 {
		in, err := inject.New(inject.Config{Rules: opt.Inject, Seed: opt.InjectSeed, Operation: middleware.Operation, Fault: middleware.InjectedFault}, mwHandler)
		if err != nil {
			_ = ln.Close()
			_ = data.Close()
			return nil, fmt.Errorf("sim: %w", err)
		}
		s.mwInject = in
		mwHandler = in
	}
	mux := http.NewServeMux()
	mux.HandleFunc(middleware.PathPrefix+"/", func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, opt.MaxBody)
		mwHandler.ServeHTTP(w, r)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		_, name, ok := splitPath(r.URL.Path)
		if !ok {
			http.NotFound(w, r)
			return
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			s.serveContract(w, r, name)
		case http.MethodPost:
			if !isService(name) {
				http.NotFound(w, r)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, opt.MaxBody)
			soapHandler.ServeHTTP(w, r)
		default:
			w.Header().Set("Allow", "GET, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
	})

	s.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          log.New(logWriter{s}, "", 0),
	}
	if !opt.PlainHTTP {
		s.srv.TLSConfig = data.PKI.ServerTLSConfig()
		ln = tls.NewListener(ln, s.srv.TLSConfig)
	}
	s.ln = ln

	if s.cfgPath, err = writeClientConfig(opt.DataDir, s.url, data.PKI, opt.PlainHTTP); err != nil {
		_ = ln.Close()
		_ = data.Close()
		return nil, err
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	mode := "mutual TLS, WS-Security required"
	switch {
	case opt.PlainHTTP && opt.Relaxed:
		mode = "plain HTTP, relaxed (WS-Security optional)"
	case opt.PlainHTTP:
		mode = "plain HTTP, WS-Security required"
	case opt.Relaxed:
		mode = "mutual TLS, relaxed (WS-Security optional)"
	}
	s.logf("sim: listening on %s (%s); FSE 2.0 middleware at %s", s.url, mode, s.MiddlewareURL())
	s.logf("sim: client configuration written to %s", s.cfgPath)
	return s, nil
}

// URL returns the base URL, scheme://host:port (services are under URL()+"/aslba/IDocumentService" …).
func (s *Server) URL() string { return s.url }

// ServiceURL returns the URL of a service under an ASL prefix, e.g. ServiceURL("aslba", ServiceDocument).
func (s *Server) ServiceURL(prefix, service string) string {
	return s.url + "/" + prefix + "/" + service
}

// MiddlewareURL returns the base URL of the simulated FSE 2.0 middleware (…/api/v1).
func (s *Server) MiddlewareURL() string { return s.url + middleware.PathPrefix }

// Middleware returns the simulated middleware, for assertions in tests.
func (s *Server) Middleware() *middleware.Server { return s.mw }

// ClientConfigPath returns the path of the client configuration written on start
// (<DataDir>/client-config.json).
func (s *Server) ClientConfigPath() string { return s.cfgPath }

// Data returns the opened data directory (store and PKI), for assertions in tests.
func (s *Server) Data() *core.Data { return s.data }

// Calls returns how many requests for the SOAP operation op (e.g. "addDocument") reached
// the simulator since it started, whatever their answer: the transmissions that tests count
// to prove a document was sent once.
func (s *Server) Calls(op string) int {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	return s.calls[op]
}

// InjectCounts returns the fault-injection counters (nil when no rule is set).
func (s *Server) InjectCounts() map[string]map[inject.Kind]int {
	if s.injector == nil {
		return nil
	}
	counts := s.injector.Counts()
	if s.mwInject != nil {
		for op, m := range s.mwInject.Counts() {
			if op != "" {
				counts[op] = m
			}
		}
	}
	return counts
}

// Close stops accepting requests, waits up to 10 seconds for those in flight and closes
// the store. It is safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := s.srv.Shutdown(ctx)
		if err != nil {
			_ = s.srv.Close()
		}
		<-s.done
		s.closeErr = errors.Join(err, s.data.Close())
		s.logf("sim: stopped")
	})
	return s.closeErr
}

func (s *Server) logf(format string, args ...any) {
	if s.opt.Logger != nil {
		s.opt.Logger.Printf(format, args...)
	}
}

// checkLoopback refuses a listen address whose host is not a loopback address.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("sim: address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%w: got %q", ErrNotLoopback, addr)
	}
	return nil
}

// splitPath splits "/<prefix>/<name>" into its parts, with prefix one of Prefixes.
func splitPath(p string) (prefix, name string, ok bool) {
	p = strings.TrimPrefix(p, "/")
	prefix, name, found := strings.Cut(p, "/")
	if !found || name == "" || strings.Contains(name, "/") {
		return "", "", false
	}
	for _, x := range Prefixes {
		if x == prefix {
			return prefix, name, true
		}
	}
	return "", "", false
}

func isService(name string) bool {
	for _, s := range Services {
		if s == name {
			return true
		}
	}
	return false
}

// logWriter forwards net/http's own messages (e.g. refused TLS handshakes) to the Logger.
type logWriter struct{ s *Server }

func (w logWriter) Write(p []byte) (int, error) {
	w.s.logf("sim: %s", strings.TrimSpace(string(p)))
	return len(p), nil
}
