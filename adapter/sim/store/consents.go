package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ConsentCodes lists the national consent codes in order (domain.md §5).
var ConsentCodes = [...]string{"C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8"}

// ConsentState is a patient's current consent values.
type ConsentState struct {
	// Values holds C1 … C8; C1 is always true (DL 34/2020: feeding needs no consent).
	Values map[string]bool `json:"values"`
	// UpdatedAt is when the last change was recorded; zero if never.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// ConsentChange sets one consent code.
type ConsentChange struct {
	Code  string `json:"code"`
	Value bool   `json:"value"`
}

// OnBehalfOf names who gave the consent for the patient: a parent, guardian or delegate.
type OnBehalfOf struct {
	CF   string `json:"cf"`
	Role string `json:"role"` // e.g. GEN, TUT, ING
}

// ConsentActor is who recorded a consent change.
type ConsentActor struct {
	OperatorCF string      `json:"operator_cf,omitempty"`
	Role       string      `json:"role,omitempty"` // e.g. OGC, ASS
	Structure  string      `json:"structure,omitempty"`
	OnBehalfOf *OnBehalfOf `json:"on_behalf_of,omitempty"`
}

// ConsentEvent is one entry of a patient's consent history.
type ConsentEvent struct {
	Seq     uint64          `json:"seq"`
	At      time.Time       `json:"at"`
	By      ConsentActor    `json:"by"`
	Changes []ConsentChange `json:"changes"`
}

func defaultConsents() ConsentState {
	v := make(map[string]bool, len(ConsentCodes))
	for _, c := range ConsentCodes {
		v[c] = false
	}
	v["C1"] = true
	return ConsentState{Values: v}
}

func validCode(c string) bool {
	for _, k := range ConsentCodes {
		if k == c {
			return true
		}
	}
	return false
}

// Consents returns the patient's current consents; a patient never seen has only C1.
func (s *Store) Consents(patientCF string) (ConsentState, error) {
	st := defaultConsents()
	err := s.view(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bConsents).Get([]byte(patientCF))
		if raw == nil {
			return nil
		}
		return json.Unmarshal(raw, &st)
	})
	if err != nil {
		return ConsentState{}, fmt.Errorf("store: consents: %w", err)
	}
	return st, nil
}

// RecordConsents applies changes atomically and appends them to the patient's history.
// Unknown codes, an empty change list and C1=false are ErrInvalid.
func (s *Store) RecordConsents(patientCF string, changes []ConsentChange, by ConsentActor, at time.Time) (ConsentState, error) {
	if patientCF == "" || len(changes) == 0 {
		return ConsentState{}, fmt.Errorf("store: record consents: patient and at least one change required: %w", ErrInvalid)
	}
	for _, c := range changes {
		if !validCode(c.Code) {
			return ConsentState{}, fmt.Errorf("store: record consents: unknown code %q: %w", c.Code, ErrInvalid)
		}
		if c.Code == "C1" && !c.Value {
			return ConsentState{}, fmt.Errorf("store: record consents: C1 cannot be revoked (DL 34/2020): %w", ErrInvalid)
		}
	}
	if at.IsZero() {
		at = s.now()
	}
	at = at.UTC()
	st := defaultConsents()
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bConsents)
		if raw := b.Get([]byte(patientCF)); raw != nil {
			if err := json.Unmarshal(raw, &st); err != nil {
				return err
			}
		}
		for _, c := range changes {
			st.Values[c.Code] = c.Value
		}
		st.UpdatedAt = at
		raw, err := json.Marshal(st)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(patientCF), raw); err != nil {
			return err
		}
		hb, err := tx.Bucket(bConsentLog).CreateBucketIfNotExists([]byte(patientCF))
		if err != nil {
			return err
		}
		seq, err := hb.NextSequence()
		if err != nil {
			return err
		}
		ev, err := json.Marshal(ConsentEvent{Seq: seq, At: at, By: by, Changes: changes})
		if err != nil {
			return err
		}
		var k [8]byte
		binary.BigEndian.PutUint64(k[:], seq)
		return hb.Put(k[:], ev)
	})
	if err != nil {
		return ConsentState{}, fmt.Errorf("store: record consents: %w", err)
	}
	return st, nil
}

// ConsentHistory returns the patient's consent events, oldest first.
func (s *Store) ConsentHistory(patientCF string) ([]ConsentEvent, error) {
	var out []ConsentEvent
	err := s.view(func(tx *bolt.Tx) error {
		hb := tx.Bucket(bConsentLog).Bucket([]byte(patientCF))
		if hb == nil {
			return nil
		}
		return hb.ForEach(func(_, v []byte) error {
			var ev ConsentEvent
			if err := json.Unmarshal(v, &ev); err != nil {
				return err
			}
			out = append(out, ev)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: consent history: %w", err)
	}
	return out, nil
}
