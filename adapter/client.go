package adapter

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"net/http"
	"time"
)

// errNotWired marks API methods whose wire mapping has not landed yet (work in progress,
// tracked in the adapter issue).
var errNotWired = errors.New("adapter: not wired to the generated clients yet")

// Client talks to one environment and ASL. It is safe for concurrent use and meant to be
// reused: it owns one *http.Client whose connections are kept alive between calls.
type Client struct {
	cfg    Config
	log    Logger
	now    func() time.Time
	http   *http.Client
	signer crypto.Signer
	cert   *x509.Certificate

	// Documents publishes, replaces, deletes, searches and retrieves documents.
	Documents *DocumentService
	// Consents reads and records consents and fetches the privacy notice.
	Consents *ConsentService
	// Taccuino reads the patient's notebook.
	Taccuino *TaccuinoService
}

// Option customises a Client beyond what Config holds.
type Option func(*Client)

// WithLogger sends the client's structured logs to l.
func WithLogger(l Logger) Option { return func(c *Client) { c.log = l } }

// WithClock freezes or shifts the clock used for Timestamps and assertions (tests).
func WithClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// WithSigner signs messages with any crypto.Signer (a smart card, an HSM) and its certificate
// instead of Config.Signer's files.
func WithSigner(s crypto.Signer, cert *x509.Certificate) Option {
	return func(c *Client) { c.signer, c.cert = s, cert }
}

// WithHTTPClient replaces the transport built from Config.TLS (tests, proxies). The client
// must do its own TLS verification: it is refused in prod.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// DocumentService is the IDocumentService of the client's ASL.
type DocumentService struct{ c *Client }

// ConsentService is the IGestoreConsensoService of the client's ASL.
type ConsentService struct{ c *Client }

// TaccuinoService is the ITaccuinoService of the client's ASL.
type TaccuinoService struct{ c *Client }

// Publish sends a new document (addDocument).
func (s *DocumentService) Publish(ctx context.Context, req PublishRequest) (*PublishResult, error) {
	return nil, errNotWired
}

// Replace publishes req as a new version of the document oldID (replaceDocument).
func (s *DocumentService) Replace(ctx context.Context, oldID string, req PublishRequest) (*PublishResult, error) {
	return nil, errNotWired
}

// Delete voids the publication of document id of patientCF (deleteDocument).
func (s *DocumentService) Delete(ctx context.Context, patientCF, id string) error {
	return errNotWired
}

// Search lists a patient's documents (searchDocuments).
func (s *DocumentService) Search(ctx context.Context, q SearchQuery) (*SearchResult, error) {
	return nil, errNotWired
}

// Retrieve fetches one document with its file (retrieveDocument).
func (s *DocumentService) Retrieve(ctx context.Context, patientCF, id string) (*Document, error) {
	return nil, errNotWired
}

// Status reads a patient's consents (statoConsensi).
func (s *ConsentService) Status(ctx context.Context, patientCF string) (*ConsentStatus, error) {
	return nil, errNotWired
}

// Set records consent values (comunicazioneConsensi) and returns the resulting status.
func (s *ConsentService) Set(ctx context.Context, ch ConsentChange) (*ConsentStatus, error) {
	return nil, errNotWired
}

// Informativa fetches the current privacy notice (recuperoInformativa).
func (s *ConsentService) Informativa(ctx context.Context) (*Informativa, error) {
	return nil, errNotWired
}

// Summary counts a patient's Taccuino items per kind (getTaccuino).
func (s *TaccuinoService) Summary(ctx context.Context, patientCF string) (*TaccuinoSummary, error) {
	return nil, errNotWired
}

// Items lists one kind of Taccuino items (getRilevazioni, getFarmaci, getEventi, getSintomi,
// getDocumentiPersonali).
func (s *TaccuinoService) Items(ctx context.Context, q TaccuinoQuery) (*TaccuinoPage, error) {
	return nil, errNotWired
}

// New validates cfg and builds a Client. Configuration mistakes (unknown ASL, production
// without the opt-in, an unusable certificate) fail here, before anything is sent.
func New(cfg Config, opts ...Option) (*Client, error) {
	c := &Client{cfg: cfg, log: nopLogger{}, now: time.Now}
	for _, o := range opts {
		o(c)
	}
	c.Documents = &DocumentService{c}
	c.Consents = &ConsentService{c}
	c.Taccuino = &TaccuinoService{c}
	return c, nil
}
