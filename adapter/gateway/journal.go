package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// MaxPublishAge is how long after its validation a document may be published
// (the dispatcher's days.allow-publish-after-validation=5).
const MaxPublishAge = 5 * 24 * time.Hour

// Validation is what the client keeps of a positive VALIDATION, for the publication that
// follows (hours or days later, in another process).
type Validation struct {
	// UniqueID is the document's uniqueId (the key).
	UniqueID string `json:"unique_id"`
	// CDAHash is CDAHash of the validated CDA (legalAuthenticator ignored).
	CDAHash string `json:"cda_hash"`
	// WorkflowInstanceID is the validation's, sent with the publication.
	WorkflowInstanceID string `json:"workflow_instance_id"`
	// TraceID is the validation call's.
	TraceID string `json:"trace_id"`
	// ValidatedAt is when the gateway answered.
	ValidatedAt time.Time `json:"validated_at"`
}

// WorkflowError is a publication refused before sending because the workflow forbids it:
// never validated, CDA changed since validation, or outside the 5-day window.
type WorkflowError struct {
	UniqueID string
	Reason   string
	Fix      string
}

// Error implements error.
func (e *WorkflowError) Error() string {
	return fmt.Sprintf("gateway: %s: %s; %s", e.UniqueID, e.Reason, e.Fix)
}

// CheckPublishable refuses, as the gateway would (/msg/cda-match, /msg/max-day-limit-exceed),
// a publication of d whose validation v is missing (nil), whose CDA changed since, or that
// comes more than MaxPublishAge after it.
func CheckPublishable(v *Validation, d *Document, now time.Time) error {
	id := d.Meta.UniqueID
	if v == nil {
		return &WorkflowError{UniqueID: id, Reason: "the document was never validated by the middleware",
			Fix: "run fsepuglia validate on the unsigned PDF, sign it, then publish"}
	}
	h, err := d.CDAHash()
	if err != nil {
		return err
	}
	if h != v.CDAHash {
		return &WorkflowError{UniqueID: id, Reason: fmt.Sprintf("the CDA changed since its validation of %s (only legalAuthenticator may change)", v.ValidatedAt.UTC().Format(time.RFC3339)),
			Fix: "validate the new version, sign it, then publish"}
	}
	if age := now.Sub(v.ValidatedAt); age > MaxPublishAge {
		return &WorkflowError{UniqueID: id, Reason: fmt.Sprintf("validated %s ago, more than 5 days: the gateway refuses it (/msg/max-day-limit-exceed)", age.Round(time.Hour)),
			Fix: "validate it again, then publish"}
	}
	return nil
}

// Journal keeps Validations in a bbolt file (mode 0600), so that validation, signature and
// publication can span processes. It holds no patient data: uniqueIds, hashes and ids. Safe
// for concurrent use.
type Journal struct{ db *bolt.DB }

var bucketValidations = []byte("validations")

// OpenJournal opens (creating) the journal at path; another process holding it makes this
// wait up to one second, then fail.
func OpenJournal(path string) (*Journal, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("gateway journal %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketValidations)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("gateway journal %s: %w", path, err)
	}
	return &Journal{db: db}, nil
}

// Close closes the file.
func (j *Journal) Close() error { return j.db.Close() }

// Record stores v (replacing an earlier validation of the same uniqueId), durably.
func (j *Journal) Record(v Validation) error {
	if v.UniqueID == "" || v.CDAHash == "" || v.WorkflowInstanceID == "" {
		return errors.New("gateway journal: a validation needs uniqueId, CDA hash and workflowInstanceId")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return j.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketValidations).Put([]byte(v.UniqueID), b) })
}

// Get returns the validation of uniqueID, if any.
func (j *Journal) Get(uniqueID string) (*Validation, error) {
	var v *Validation
	err := j.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketValidations).Get([]byte(uniqueID))
		if b == nil {
			return nil
		}
		v = &Validation{}
		return json.Unmarshal(b, v)
	})
	return v, err
}
