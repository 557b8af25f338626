package main

import (
	"context"

	"github.com/fsepuglia/fsepuglia/adapter"
)

// documentAPI is what the commands use of adapter.DocumentService.
type documentAPI interface {
	Publish(ctx context.Context, req adapter.PublishRequest) (*adapter.PublishResult, error)
	Replace(ctx context.Context, oldID string, req adapter.PublishRequest) (*adapter.PublishResult, error)
	Delete(ctx context.Context, patientCF, id string) error
	Search(ctx context.Context, q adapter.SearchQuery) (*adapter.SearchResult, error)
	Retrieve(ctx context.Context, patientCF, id string) (*adapter.Document, error)
}

// consentAPI is what the commands use of adapter.ConsentService.
type consentAPI interface {
	Status(ctx context.Context, patientCF string) (*adapter.ConsentStatus, error)
	Set(ctx context.Context, ch adapter.ConsentChange) (*adapter.ConsentStatus, error)
	Informativa(ctx context.Context) (*adapter.Informativa, error)
}

// taccuinoAPI is what the commands use of adapter.TaccuinoService.
type taccuinoAPI interface {
	Summary(ctx context.Context, patientCF string) (*adapter.TaccuinoSummary, error)
	Items(ctx context.Context, q adapter.TaccuinoQuery) (*adapter.TaccuinoPage, error)
}

// backend is the library as the commands see it: adapter.Client in production, fakes in tests.
type backend struct {
	docs     documentAPI
	consents consentAPI
	taccuino taccuinoAPI
}

// newAdapterBackend builds the real backend: the configuration calls the library.
func newAdapterBackend(cfg adapter.Config, log adapter.Logger) (*backend, error) {
	c, err := adapter.New(cfg, adapter.WithLogger(log))
	if err != nil {
		return nil, err
	}
	return &backend{docs: c.Documents, consents: c.Consents, taccuino: c.Taccuino}, nil
}
