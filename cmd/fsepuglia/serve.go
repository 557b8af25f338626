package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/queue"
	"github.com/fsepuglia/fsepuglia/adapter/transport"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"
)

// keepServeDone is how long done items stay in the queue (they hold patient codes at rest).
const keepServeDone = 30 * 24 * time.Hour

func serveCommand(a *appEnv) *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run the feeder: a local HTTP/JSON API, an intake folder and workers on a durable queue",
		Description: "Documents posted to the API (POST /v1/documents) or dropped into --watch DIR are recorded in the\n" +
			"queue, then published by the workers with retries (exponential backoff with jitter, Retry-After),\n" +
			"never twice: an item that may have reached the region is looked up before any resend.\n" +
			"The queue is an embedded file in the data directory by default; --queue postgres://… lets several\n" +
			"instances share one. API: GET /openapi.json. Metrics: GET /metrics. SIGTERM stops gracefully,\n" +
			"SIGHUP reloads the certificates. Logs are JSON lines on stderr, without personal data.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8470", Usage: "API address; anything but loopback needs --tls-client-ca (mutual TLS) or --token-file"},
			&cli.StringFlag{Name: "watch", Usage: "intake folder: .pdf/.p7m files dropped here are enqueued, then moved to done/ or failed/"},
			&cli.StringFlag{Name: "queue", Usage: "queue: empty for <data-dir>/queue.db (embedded), a file path, or postgres://user@host/db"},
			&cli.IntFlag{Name: "concurrency", Value: 4, Usage: "documents in flight at once in this instance (1-64)"},
			&cli.StringFlag{Name: "instance", Usage: "name of this instance in claims and logs (default host:pid)"},
			&cli.StringFlag{Name: "token-file", Usage: "file holding the API's bearer token (Authorization: Bearer …)"},
			&cli.StringFlag{Name: "tls-cert", Usage: "API server certificate (PEM), with --tls-key"},
			&cli.StringFlag{Name: "tls-key", Usage: "API server key (PEM)"},
			&cli.StringFlag{Name: "tls-client-ca", Usage: "CA (PEM) of the API's clients: requires client certificates (mutual TLS)"},
			&cli.DurationFlag{Name: "call-timeout", Value: 2 * time.Minute, Usage: "bound on each call to the region"},
			&cli.DurationFlag{Name: "lease", Usage: "how long a claim lasts without renewal before another instance takes it over as in doubt (default 2×call-timeout+30s, at least call-timeout+10s)"},
			&cli.DurationFlag{Name: "backoff-max", Value: 5 * time.Minute, Usage: "longest wait between retries of an item (outages of hours are retried at this pace)"},
			&cli.DurationFlag{Name: "drain", Value: 20 * time.Second, Usage: "on SIGTERM, how long sends in flight may take to finish"},
			&cli.DurationFlag{Name: "poll", Value: 500 * time.Millisecond, Usage: "how often idle workers look at the queue (items of other instances)"},
			&cli.DurationFlag{Name: "watch-interval", Value: time.Second, Usage: "how often the intake folder is scanned; a file must be unchanged this long"},
		},
		Action: func(c *cli.Context) error { return a.serve(c) },
	}
}

// server is a running `fsepuglia serve`.
type server struct {
	a        *appEnv
	log      logrusLogger
	st       queue.Store
	spec     queueSpec
	owner    string
	be       atomic.Pointer[backend]
	metrics  *serveMetrics
	wake     chan struct{}
	token    []byte
	router   *router
	draining atomic.Bool
	reloadMu sync.Mutex
}

func (s *server) backend() *backend { return s.be.Load() }

func (s *server) wakeWorkers() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (a *appEnv) serve(c *cli.Context) error {
	n := c.Int("concurrency")
	if n < 1 || n > 64 {
		return &adapter.InputError{Field: "--concurrency", Value: fmt.Sprint(n), Msg: "out of range", Fix: "use 1 to 64"}
	}
	listen := c.String("listen")
	if _, _, err := net.SplitHostPort(listen); err != nil {
		return &adapter.InputError{Field: "--listen", Value: listen, Msg: "not HOST:PORT", Fix: "e.g. 127.0.0.1:8470"}
	}
	certFile, keyFile, clientCA := c.String("tls-cert"), c.String("tls-key"), c.String("tls-client-ca")
	if (certFile == "") != (keyFile == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	if clientCA != "" && certFile == "" {
		return usagef("--tls-client-ca needs --tls-cert and --tls-key (the API is then served over mutual TLS)")
	}
	if !isLoopback(listen) && clientCA == "" && c.String("token-file") == "" {
		return &adapter.InputError{Field: "--listen", Value: listen, Msg: "not a loopback address, and the API would be open to the network",
			Fix: "add --tls-cert, --tls-key and --tls-client-ca (mutual TLS), or --token-file, or listen on 127.0.0.1"}
	}
	spec, err := a.parseQueue(c.String("queue"))
	if err != nil {
		return err
	}

	// JSON logs, info by default, through the same redaction as the CLI's.
	a.log.l.SetFormatter(&logrus.JSONFormatter{})
	if !c.IsSet("log-level") && os.Getenv("FSEPUGLIA_LOG_LEVEL") == "" {
		a.log.l.SetLevel(logrus.InfoLevel)
	}
	s := &server{a: a, log: a.log, spec: spec, wake: make(chan struct{}, 1)}
	if tf := c.String("token-file"); tf != "" {
		raw, err := os.ReadFile(tf)
		if err != nil {
			return &adapter.InputError{Field: "--token-file", Value: tf, Msg: fmt.Sprintf("cannot read: %v", unwrapPath(err)), Fix: "check the path and its permissions"}
		}
		if s.token = []byte(strings.TrimSpace(string(raw))); len(s.token) < 16 {
			return &adapter.InputError{Field: "--token-file", Value: tf, Msg: "token shorter than 16 characters", Fix: "e.g. openssl rand -hex 32 > " + tf}
		}
	}
	s.owner = c.String("instance")
	if s.owner == "" {
		host, _ := os.Hostname()
		s.owner = fmt.Sprintf("%s:%d", host, os.Getpid())
	}

	be, err := a.client()
	if err != nil {
		return err
	}
	s.be.Store(be)
	if s.router, err = a.newRouter(); err != nil {
		return err
	}
	defer s.router.close()

	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGTERM, os.Interrupt)
	defer stop()
	st, err := openQueue(ctx, spec)
	if err != nil {
		return err
	}
	defer st.Close()
	s.st = st
	s.metrics = newServeMetrics(st)
	s.updateCertMetrics()
	if n, err := st.ForgetDone(ctx, a.deps.now().Add(-keepServeDone)); err == nil && n > 0 {
		s.log.Info("forgot old done items", map[string]any{"count": n})
	}

	httpSrv := &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	if certFile != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return &adapter.InputError{Field: "--tls-cert", Value: certFile, Msg: fmt.Sprintf("cannot load the key pair: %v", err), Fix: "give a PEM certificate and its key"}
		}
		tc.Certificates = []tls.Certificate{cert}
		if clientCA != "" {
			pem, err := os.ReadFile(clientCA)
			pool := x509.NewCertPool()
			if err != nil || !pool.AppendCertsFromPEM(pem) {
				return &adapter.InputError{Field: "--tls-client-ca", Value: clientCA, Msg: "no PEM certificate in it", Fix: "give the CA of the API's clients"}
			}
			tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
		}
		httpSrv.TLSConfig = tc
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return &adapter.InputError{Field: "--listen", Value: listen, Msg: fmt.Sprintf("cannot listen: %v", err), Fix: "pick a free port"}
	}
	scheme := "http"
	if httpSrv.TLSConfig != nil {
		ln, scheme = tls.NewListener(ln, httpSrv.TLSConfig), "https"
	}
	s.log.Info("serve: listening", map[string]any{"url": scheme + "://" + ln.Addr().String(), "queue": spec.String(), "instance": s.owner,
		"concurrency": n, "watch": c.String("watch"), "token": len(s.token) > 0, "mutual_tls": clientCA != ""})
	// The address is also printed on stdout, so that scripts and tests started with :0 find it.
	fmt.Fprintf(a.stdout, "listening on %s://%s\n", scheme, ln.Addr().String())

	var wg sync.WaitGroup
	srvErr := make(chan error, 1)
	go func() { srvErr <- httpSrv.Serve(ln) }()

	intakeCtx, stopIntake := context.WithCancel(ctx)
	defer stopIntake()
	if dir := c.String("watch"); dir != "" {
		w, err := newWatcher(s, dir, c.Duration("watch-interval"))
		if err != nil {
			return &adapter.InputError{Field: "--watch", Value: dir, Msg: err.Error(), Fix: "give a writable directory"}
		}
		wg.Add(1)
		go func() { defer wg.Done(); w.run(intakeCtx) }()
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				s.reload()
			}
		}
	}()

	workDone := make(chan struct{})
	go func() {
		defer close(workDone)
		_ = queue.Work(ctx, st, &queueSender{backend: s.backend, router: s.router}, queue.Options{
			Owner: s.owner, Concurrency: n, CallTimeout: c.Duration("call-timeout"), Lease: c.Duration("lease"), Poll: c.Duration("poll"), Wake: s.wake,
			Classify: classifyQueueError, Backoff: queue.Backoff{Base: time.Second, Max: c.Duration("backoff-max")},
			Drain: c.Duration("drain"),
			OnEvent: func(ev queue.Event) {
				s.metrics.observe(ev)
				f := map[string]any{"unique_id": ev.Item.UniqueID, "key": ev.Item.Key, "state": string(ev.Item.State), "attempts": ev.Item.Attempts, "route": ev.Item.Route}
				if ev.Item.Outcome != "" {
					f["outcome"] = string(ev.Item.Outcome)
				}
				if ev.Item.FaultClass != "" {
					f["fault_class"], f["fault_code"] = ev.Item.FaultClass, ev.Item.FaultCode
				}
				if ev.Item.Reason != "" {
					f["reason"] = ev.Item.Reason
				}
				if ev.Sent {
					f["duration"] = ev.SendDuration.Round(time.Millisecond).String()
				}
				s.log.Info("item settled", f)
			},
			OnError: func(err error) {
				s.metrics.storeErrs.Inc()
				s.log.Warn("queue error", map[string]any{"error": err.Error()})
			},
		})
	}()

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-srvErr:
		stop()
	}
	// Graceful stop: no new documents, then in-flight sends finish (or are left in doubt).
	s.draining.Store(true)
	s.log.Info("serve: stopping", map[string]any{"drain": c.Duration("drain").String()})
	stopIntake()
	shCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = httpSrv.Shutdown(shCtx)
	cancel()
	<-workDone
	wg.Wait()
	s.log.Info("serve: stopped", nil)
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", serveErr)
	}
	return nil
}

// reload rebuilds the library client, re-reading the certificates and keys named by the
// configuration; the queue and the items in flight are untouched (calls in flight finish on
// the old client). A failed reload keeps the old client.
func (s *server) reload() {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	be, err := s.a.deps.newBackend(s.a.cfg, s.log)
	if err != nil {
		s.metrics.reloads.WithLabelValues("error").Inc()
		s.log.Error("reload failed, the old certificates stay in use", map[string]any{"error": err.Error()})
		return
	}
	s.be.Store(be)
	s.metrics.reloads.WithLabelValues("ok").Inc()
	s.updateCertMetrics()
	s.log.Info("certificates reloaded", nil)
}

// updateCertMetrics sets fsepuglia_certificate_expiry_days for the TLS and signing certificates.
func (s *server) updateCertMetrics() {
	cfg := s.a.cfg
	for use, tc := range map[string]transport.Config{
		"tls":    {CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile, PKCS12File: cfg.TLS.PKCS12File, KeyPassword: cfg.TLS.KeyPassword},
		"signer": {CertFile: cfg.Signer.CertFile, KeyFile: cfg.Signer.KeyFile, PKCS12File: cfg.Signer.PKCS12File, KeyPassword: cfg.Signer.KeyPassword},
	} {
		if tc.CertFile == "" && tc.PKCS12File == "" {
			continue
		}
		cert, err := transport.LoadCertificate(tc)
		if err != nil || cert.Leaf == nil {
			continue
		}
		s.metrics.certDays.WithLabelValues(use).Set(time.Until(cert.Leaf.NotAfter).Hours() / 24)
	}
}
