package sim

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
	"github.com/fsepuglia/fsepuglia/adapter/gateway"
	"github.com/fsepuglia/fsepuglia/adapter/pades"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sign"
	"github.com/fsepuglia/fsepuglia/adapter/sim/inject"
)

func gatewayFromConfig(t *testing.T, h *harness) (*gateway.Client, adapter.Config) {
	t.Helper()
	b, err := os.ReadFile(h.srv.ClientConfigPath())
	if err != nil {
		t.Fatal(err)
	}
	var cfg adapter.Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	g, err := adapter.NewGateway(cfg)
	if err != nil {
		t.Fatalf("adapter.NewGateway with the simulator's config: %v", err)
	}
	return g, cfg
}

func gwDoc(t *testing.T, h *harness, cfg adapter.Config, signed bool) *gateway.Document {
	t.Helper()
	data := pdfcdatest.PDF{Attachment: pdfcdatest.CDA{}.Bytes()}.Bytes()
	if signed {
		p := h.srv.Data().PKI
		s, err := sign.New(p.Operator.Key, p.Operator.Cert)
		if err != nil {
			t.Fatal(err)
		}
		if data, err = pades.SignBytes(data, s, pades.SignOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	d, _, err := gateway.NewDocument(data, "referto.pdf", docmeta.Options{Profile: docmeta.Profile{
		HealthcareFacilityType: cfg.Structure.FacilityType, PracticeSettingCode: cfg.Structure.PracticeSetting, RepositoryUniqueID: cfg.Structure.RepositoryID}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestMiddlewareBesideLegacy: `fsepuglia sim` serves the middleware under /api/v1 over the
// same mutual TLS, and the client configuration it writes reaches both.
func TestMiddlewareBesideLegacy(t *testing.T) {
	h := startSim(t, nil)
	g, cfg := gatewayFromConfig(t, h)
	if g.BaseURL() != h.srv.MiddlewareURL() {
		t.Fatalf("client config points the middleware to %s, server at %s", g.BaseURL(), h.srv.MiddlewareURL())
	}
	ctx := context.Background()
	res, err := g.Validate(ctx, gateway.ValidateRequest{Document: gwDoc(t, h, cfg, false)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Publish(ctx, gateway.PublishRequest{Document: gwDoc(t, h, cfg, true), WorkflowInstanceID: res.WorkflowInstanceID}); err != nil {
		t.Fatal(err)
	}
	if h.srv.Middleware().Accepted(gateway.OpCreate) != 1 {
		t.Fatal("publication not counted")
	}
	// The legacy services still answer on the same server.
	c, err := adapter.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Consents.Informativa(ctx); err != nil {
		t.Fatal(err)
	}
	// State survives a restart of the simulator.
	h.restart()
	g2, _ := gatewayFromConfig(t, h)
	st, err := g2.Status(ctx, res.WorkflowInstanceID)
	if err != nil || !st.Published() {
		t.Fatalf("status after restart: %v %+v", err, st)
	}
}

// TestMiddlewareFaultInjection: the same --inject rules reach the middleware's operations
// (gtw-<operation>), answering the middleware's own problems.
func TestMiddlewareFaultInjection(t *testing.T) {
	rules, err := inject.ParseSpecs([]string{"gtw-validation:rate=1,kinds=fault", "gtw-status:rate=1,kinds=503"})
	if err != nil {
		t.Fatal(err)
	}
	h := startSim(t, func(o *Options) { o.Inject = rules })
	g, cfg := gatewayFromConfig(t, h)
	ctx := context.Background()
	_, err = g.Validate(ctx, gateway.ValidateRequest{Document: gwDoc(t, h, cfg, false)})
	var p *gateway.Problem
	if !errors.As(err, &p) || p.Type != "mw/io_error" || p.HTTPStatus != 504 || p.Source() != gateway.SourceMiddleware || !p.Transient() {
		t.Fatalf("injected fault: %T %v", err, err)
	}
	_, err = g.StatusByTrace(ctx, "0123456789abcdef")
	if !errors.As(err, &p) || p.HTTPStatus != 503 || !p.Transient() {
		t.Fatalf("injected 503: %v", err)
	}
	if n := h.srv.InjectCounts()["gtw-validation"][inject.KindFault]; n != 1 {
		t.Fatalf("injected faults counted %d", n)
	}
	if h.srv.Middleware().Accepted(gateway.OpValidation) != 0 {
		t.Fatal("an injected failure reached the middleware")
	}
}
