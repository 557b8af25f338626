package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TaccuinoKind is a section of the patient's notebook.
type TaccuinoKind string

// The Taccuino sections the simulator serves (modelled on Piemonte's TaccuinoService).
const (
	KindRilevazioni        TaccuinoKind = "rilevazioni"
	KindFarmaci            TaccuinoKind = "farmaci"
	KindEventi             TaccuinoKind = "eventi"
	KindSintomi            TaccuinoKind = "sintomi"
	KindDocumentiPersonali TaccuinoKind = "documentiPersonali"
)

// TaccuinoKinds lists every kind, in a stable order.
var TaccuinoKinds = [...]TaccuinoKind{KindRilevazioni, KindFarmaci, KindEventi, KindSintomi, KindDocumentiPersonali}

func validKind(k TaccuinoKind) bool {
	for _, x := range TaccuinoKinds {
		if x == k {
			return true
		}
	}
	return false
}

// TaccuinoItem is one notebook entry. Fields are kind-specific (e.g. "tipo", "valore",
// "unita" for a measurement).
type TaccuinoItem struct {
	ID        string            `json:"id"` // assigned by the store when empty
	PatientCF string            `json:"patient_cf"`
	Kind      TaccuinoKind      `json:"kind"`
	Date      time.Time         `json:"date"`
	Fields    map[string]string `json:"fields,omitempty"`
}

// TaccuinoQuery selects a patient's entries of one kind. From inclusive, To exclusive;
// zero bounds are open. Limit <= 0 means no limit. Results are newest first.
type TaccuinoQuery struct {
	PatientCF     string
	Kind          TaccuinoKind
	From, To      time.Time
	Offset, Limit int
}

func taccPrefix(cf string, k TaccuinoKind) []byte {
	return join([]byte(cf), sep, []byte(k), sep)
}

// AddTaccuinoItems stores items in one transaction. When marker is not empty the items are
// added only the first time that marker is used (idempotent seeding); added reports whether
// they were. Items with an unknown kind, no patient or no date are ErrInvalid.
func (s *Store) AddTaccuinoItems(marker string, items []TaccuinoItem) (added bool, err error) {
	for _, it := range items {
		if it.PatientCF == "" || it.Date.IsZero() || !validKind(it.Kind) {
			return false, fmt.Errorf("store: taccuino item (kind %q): patient, date and a known kind are required: %w", it.Kind, ErrInvalid)
		}
	}
	err = s.update(func(tx *bolt.Tx) error {
		if marker != "" {
			mb := tx.Bucket(bMarkers)
			if mb.Get([]byte(marker)) != nil {
				return nil
			}
			if err := mb.Put([]byte(marker), []byte(s.now().UTC().Format(time.RFC3339))); err != nil {
				return err
			}
		}
		b := tx.Bucket(bTaccuino)
		for _, it := range items {
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			var sq [8]byte
			binary.BigEndian.PutUint64(sq[:], seq)
			if it.ID == "" {
				it.ID = fmt.Sprintf("%s-%d", it.Kind, seq)
			}
			it.Date = it.Date.UTC()
			raw, err := json.Marshal(it)
			if err != nil {
				return err
			}
			if err := b.Put(join(taccPrefix(it.PatientCF, it.Kind), descTime(it.Date), sq[:]), raw); err != nil {
				return err
			}
		}
		added = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: add taccuino items: %w", err)
	}
	return added, nil
}

// TaccuinoItems returns the total of matching entries and the requested page.
func (s *Store) TaccuinoItems(q TaccuinoQuery) (int, []TaccuinoItem, error) {
	if !validKind(q.Kind) {
		return 0, nil, fmt.Errorf("store: taccuino kind %q: %w", q.Kind, ErrInvalid)
	}
	total := 0
	var page []TaccuinoItem
	err := s.view(func(tx *bolt.Tx) error {
		prefix := taccPrefix(q.PatientCF, q.Kind)
		start := prefix
		if !q.To.IsZero() {
			start = join(prefix, descTime(q.To))
		}
		c := tx.Bucket(bTaccuino).Cursor()
		for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			d := k[len(prefix):]
			if !q.To.IsZero() && bytes.Equal(d[:8], descTime(q.To)) {
				continue // To is exclusive
			}
			if !q.From.IsZero() && bytes.Compare(d[:8], descTime(q.From)) > 0 {
				break
			}
			if total >= q.Offset && (q.Limit <= 0 || len(page) < q.Limit) {
				var it TaccuinoItem
				if err := json.Unmarshal(v, &it); err != nil {
					return err
				}
				page = append(page, it)
			}
			total++
		}
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("store: taccuino items: %w", err)
	}
	return total, page, nil
}

// TaccuinoCounts returns how many entries the patient has per kind (every kind present).
func (s *Store) TaccuinoCounts(patientCF string) (map[TaccuinoKind]int, error) {
	out := make(map[TaccuinoKind]int, len(TaccuinoKinds))
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bTaccuino).Cursor()
		for _, k := range TaccuinoKinds {
			p := taccPrefix(patientCF, k)
			n := 0
			for key, _ := c.Seek(p); key != nil && bytes.HasPrefix(key, p); key, _ = c.Next() {
				n++
			}
			out[k] = n
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: taccuino counts: %w", err)
	}
	return out, nil
}
