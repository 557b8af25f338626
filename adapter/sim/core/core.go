// Package core assembles the simulator's state below the wire: it opens a data directory
// (store, development PKI, seed data) and applies the consultation policy to store queries,
// so that the SOAP layer only maps requests and answers.
package core

import (
	"errors"
	"fmt"
	"io"

	"github.com/fsepuglia/fsepuglia/adapter/sim/pki"
	"github.com/fsepuglia/fsepuglia/adapter/sim/policy"
	"github.com/fsepuglia/fsepuglia/adapter/sim/seed"
	"github.com/fsepuglia/fsepuglia/adapter/sim/store"
)

// Options configure Open.
type Options struct {
	Store store.Options
	PKI   pki.Options
	// NoSeed skips loading the synthetic Taccuino.
	NoSeed bool
}

// Data is an opened data directory. Safe for concurrent use; Close it once.
type Data struct {
	Store *store.Store
	PKI   *pki.PKI
	// Seeded is true when this Open loaded the seed (first start).
	Seeded bool
}

// Open prepares dir on first start (PKI, database, seed) and reuses it afterwards.
func Open(dir string, opt Options) (*Data, error) {
	p, err := pki.Ensure(dir, opt.PKI)
	if err != nil {
		return nil, fmt.Errorf("core: %w", err)
	}
	s, err := store.Open(dir, opt.Store)
	if err != nil {
		return nil, fmt.Errorf("core: %w", err)
	}
	d := &Data{Store: s, PKI: p}
	if !opt.NoSeed {
		if d.Seeded, err = seed.Load(s); err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("core: %w", err)
		}
	}
	return d, nil
}

// Close closes the store.
func (d *Data) Close() error { return d.Store.Close() }

// PolicyDocument maps stored metadata to what the policy needs.
func PolicyDocument(m store.DocumentMeta) policy.Document {
	return policy.Document{CreationTime: m.CreationTime, ServiceStart: m.ServiceStart, EventCodes: m.EventCodes, PublishedBy: m.PublishedBy}
}

// PolicyConsents maps stored consents to the policy's form.
func PolicyConsents(st store.ConsentState) policy.Consents { return policy.Consents(st.Values) }

// RefusedError is a consultation the policy refused; Decision says why and which fault
// code to answer (FaultCode()).
type RefusedError struct {
	Decision policy.Decision
}

// Error implements error.
func (e *RefusedError) Error() string {
	return "core: consultation refused: " + string(e.Decision.Reason)
}

// Search runs f for a patient as seen by requesterStructure: a *RefusedError when the
// patient's consents forbid consultation (C4, no C2), otherwise the documents the policy
// lets the requester see, with Total counting only those and Offset/Limit applied after
// the policy (so pages never have holes).
func (d *Data) Search(f store.Filter, requesterStructure string) (int, []store.DocumentMeta, error) {
	if f.PatientCF == "" {
		return 0, nil, fmt.Errorf("core: search needs a patient: %w", store.ErrInvalid)
	}
	st, err := d.Store.Consents(f.PatientCF)
	if err != nil {
		return 0, nil, err
	}
	c := PolicyConsents(st)
	if dec := policy.CanConsult(c); !dec.Allowed {
		return 0, nil, &RefusedError{Decision: dec}
	}
	offset, limit := f.Offset, f.Limit
	f.Offset, f.Limit = 0, 0
	_, all, err := d.Store.Search(f)
	if err != nil {
		return 0, nil, err
	}
	var page []store.DocumentMeta
	total := 0
	for _, m := range all {
		if !policy.CanSee(c, PolicyDocument(m), requesterStructure).Allowed {
			continue
		}
		if total >= offset && (limit <= 0 || len(page) < limit) {
			page = append(page, m)
		}
		total++
	}
	return total, page, nil
}

// Retrieve returns a document if the policy lets requesterStructure see it: an unknown or
// deleted document is store.ErrNotFound, a refusal is a *RefusedError (an obscured document
// maps to FSE-00404 through Decision.FaultCode, hiding that it exists).
func (d *Data) Retrieve(id, requesterStructure string) (store.DocumentMeta, io.ReadCloser, error) {
	m, body, err := d.Store.Get(id)
	if err != nil {
		return store.DocumentMeta{}, nil, err
	}
	st, err := d.Store.Consents(m.PatientCF)
	if err != nil {
		body.Close()
		return store.DocumentMeta{}, nil, err
	}
	if dec := policy.CanSee(PolicyConsents(st), PolicyDocument(m), requesterStructure); !dec.Allowed {
		body.Close()
		return store.DocumentMeta{}, nil, &RefusedError{Decision: dec}
	}
	return m, body, nil
}

// IsRefused reports whether err is a policy refusal and returns its decision.
func IsRefused(err error) (policy.Decision, bool) {
	var re *RefusedError
	if errors.As(err, &re) {
		return re.Decision, true
	}
	return policy.Decision{}, false
}
