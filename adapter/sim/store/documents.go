package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Publish stores a new document: body is streamed to a content-addressed file, meta is
// recorded with the computed Hash and Size, Status Approved and PublishedAt now (when zero).
// A zero CreationTime is set to PublishedAt. If meta.UniqueID exists already the result is a
// *DuplicateError holding the stored record (errors.Is(err, ErrDuplicate)).
// A non-empty meta.Hash must match the body, or a *HashMismatchError is returned.
func (s *Store) Publish(meta DocumentMeta, body io.Reader) (DocumentMeta, error) {
	return s.put("", meta, body)
}

// Replace publishes meta/body as the replacement of oldID: the old record becomes
// Deprecated with ReplacedBy set, the new one has Replaces = oldID. An unknown, deleted or
// already replaced oldID is ErrNotFound; an existing new uniqueId is a *DuplicateError; a
// replacement for another patient is ErrInvalid.
func (s *Store) Replace(oldID string, meta DocumentMeta, body io.Reader) (DocumentMeta, error) {
	if oldID == "" {
		return DocumentMeta{}, fmt.Errorf("store: replace: empty old uniqueId: %w", ErrInvalid)
	}
	return s.put(oldID, meta, body)
}

// PublishStaged is Publish of a body already staged (Stage): the staged file becomes the
// document's body, or is removed when the publication is refused.
func (s *Store) PublishStaged(meta DocumentMeta, st *Staged) (DocumentMeta, error) {
	return s.putStaged("", meta, st.take())
}

// ReplaceStaged is Replace of a body already staged (Stage).
func (s *Store) ReplaceStaged(oldID string, meta DocumentMeta, st *Staged) (DocumentMeta, error) {
	if oldID == "" {
		st.Discard()
		return DocumentMeta{}, fmt.Errorf("store: replace: empty old uniqueId: %w", ErrInvalid)
	}
	return s.putStaged(oldID, meta, st.take())
}

func (s *Store) put(oldID string, meta DocumentMeta, body io.Reader) (DocumentMeta, error) {
	if err := checkPut(oldID, meta); err != nil {
		return DocumentMeta{}, err
	}
	blob, err := s.stage(body)
	if err != nil {
		return DocumentMeta{}, err
	}
	return s.putStaged(oldID, meta, blob)
}

func checkPut(oldID string, meta DocumentMeta) error {
	if meta.UniqueID == "" || meta.PatientCF == "" {
		return fmt.Errorf("store: uniqueId and patient CF are required: %w", ErrInvalid)
	}
	if meta.UniqueID == oldID {
		return fmt.Errorf("store: a document cannot replace itself: %w", ErrInvalid)
	}
	return nil
}

func (s *Store) putStaged(oldID string, meta DocumentMeta, blob *stagedBlob) (DocumentMeta, error) {
	if blob == nil {
		return DocumentMeta{}, fmt.Errorf("store: staged body already used: %w", ErrInvalid)
	}
	if err := checkPut(oldID, meta); err != nil {
		blob.discard()
		return DocumentMeta{}, err
	}
	if meta.Hash != "" && !strings.EqualFold(meta.Hash, blob.hash) {
		blob.discard()
		return DocumentMeta{}, &HashMismatchError{Declared: meta.Hash, Computed: blob.hash}
	}
	meta.Hash, meta.Size = blob.hash, blob.size
	meta.Status = StatusApproved
	meta.Replaces, meta.ReplacedBy = oldID, ""
	if meta.PublishedAt.IsZero() {
		meta.PublishedAt = s.now().UTC()
	}
	if meta.CreationTime.IsZero() {
		meta.CreationTime = meta.PublishedAt
	}
	// The checks run twice: in a read transaction first, so that a refused publication
	// leaves no blob, and again in the write transaction, where they decide. In between, the
	// blob is put in place outside bbolt's writer lock (its directory fsync no longer holds up
	// the other publications), and the write is committed with those of the publications that
	// arrived meanwhile (boltgroup: one commit for many). A publication refused only by the
	// second check (a concurrent one with the same uniqueId won) leaves its blob behind:
	// content-addressed, unreferenced, harmless (DESIGN.md).
	check := func(tx *bolt.Tx) (*DocumentMeta, error) {
		if raw := tx.Bucket(bDocs).Get([]byte(meta.UniqueID)); raw != nil {
			var existing DocumentMeta
			if err := json.Unmarshal(raw, &existing); err != nil {
				return nil, fmt.Errorf("store: decode %s: %w", meta.UniqueID, err)
			}
			return nil, &DuplicateError{Existing: existing, NewHash: blob.hash}
		}
		if oldID == "" {
			return nil, nil
		}
		old, err := getMeta(tx, oldID)
		if err != nil {
			return nil, err
		}
		if old.Status != StatusApproved {
			return nil, fmt.Errorf("store: replace: document is %s: %w", old.Status, ErrNotFound)
		}
		if old.PatientCF != meta.PatientCF {
			return nil, fmt.Errorf("store: replace: the replacement belongs to another patient: %w", ErrInvalid)
		}
		return &old, nil
	}
	if err := s.view(func(tx *bolt.Tx) error { _, err := check(tx); return err }); err != nil {
		blob.discard()
		return DocumentMeta{}, err
	}
	// The blob is in place before the metadata that names it is committed.
	if err := s.commit(blob); err != nil {
		blob.discard()
		return DocumentMeta{}, err
	}
	err := s.groupUpdate(func(tx *bolt.Tx) error {
		old, err := check(tx)
		if err != nil {
			return err
		}
		if old != nil {
			old.Status, old.ReplacedBy = StatusDeprecated, meta.UniqueID
			if err := putMeta(tx, *old); err != nil {
				return err
			}
			if err := index(tx, *old, true); err != nil { // refresh the filter fields
				return err
			}
		}
		if err := putMeta(tx, meta); err != nil {
			return err
		}
		return index(tx, meta, true)
	})
	if err != nil {
		return DocumentMeta{}, err
	}
	return meta, nil
}

// Delete voids a document: its status becomes Deleted and it disappears from Search and Get.
// The body file is kept (it may be shared by content with other documents).
func (s *Store) Delete(id string) error {
	return s.groupUpdate(func(tx *bolt.Tx) error {
		m, err := getMeta(tx, id)
		if err != nil {
			return err
		}
		if m.Status == StatusDeleted {
			return fmt.Errorf("store: delete: already deleted: %w", ErrNotFound)
		}
		m.Status = StatusDeleted
		if err := putMeta(tx, m); err != nil {
			return err
		}
		return index(tx, m, false)
	})
}

// Get returns a document's metadata and a reader of its body, which the caller closes.
// Deleted documents are ErrNotFound; Deprecated ones are still returned.
func (s *Store) Get(id string) (DocumentMeta, io.ReadCloser, error) {
	var m DocumentMeta
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		m, err = getMeta(tx, id)
		return err
	})
	if err != nil {
		return DocumentMeta{}, nil, err
	}
	if m.Status == StatusDeleted {
		return DocumentMeta{}, nil, fmt.Errorf("store: get: deleted: %w", ErrNotFound)
	}
	f, err := s.openBlob(m.Hash)
	if err != nil {
		return DocumentMeta{}, nil, err
	}
	return m, f, nil
}

// Meta returns a document's metadata whatever its status (Deleted included).
func (s *Store) Meta(id string) (DocumentMeta, error) {
	var m DocumentMeta
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		m, err = getMeta(tx, id)
		return err
	})
	return m, err
}

// Search returns the total number of matching documents and the page [Offset, Offset+Limit),
// ordered by CreationTime descending, then uniqueId ascending.
func (s *Store) Search(f Filter) (int, []DocumentMeta, error) {
	want := f.Status
	if want == "" {
		want = StatusApproved
	}
	if want == StatusDeleted {
		return 0, nil, nil
	}
	total := 0
	var page []DocumentMeta
	err := s.view(func(tx *bolt.Tx) error {
		var c *bolt.Cursor
		var prefix []byte
		if f.PatientCF != "" {
			c = tx.Bucket(bByPatient).Cursor()
			prefix = join([]byte(f.PatientCF), sep)
		} else {
			c = tx.Bucket(bByCreated).Cursor()
		}
		// Keys after the prefix are desc(creation)|id: To bounds the start, From the end.
		start := prefix
		if !f.To.IsZero() {
			start = join(prefix, descTime(f.To))
		}
		for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			rest := k[len(prefix):]
			if len(rest) < 8 {
				continue
			}
			if !f.From.IsZero() && bytes.Compare(rest[:8], descTime(f.From)) > 0 {
				break
			}
			if !f.To.IsZero() && bytes.Equal(rest[:8], descTime(f.To)) {
				continue // To is exclusive
			}
			// The index value carries the filter fields: only the page is decoded.
			status, typ, class, author := splitFilter(v)
			if string(status) != want ||
				(f.TypeCode != "" && string(typ) != f.TypeCode) ||
				(f.ClassCode != "" && string(class) != f.ClassCode) ||
				(f.AuthorStructure != "" && string(author) != f.AuthorStructure) {
				continue
			}
			if total >= f.Offset && (f.Limit <= 0 || len(page) < f.Limit) {
				m, err := getMeta(tx, string(rest[8:]))
				if err != nil {
					return fmt.Errorf("store: index names a missing document: %w", err)
				}
				page = append(page, m)
			}
			total++
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return total, page, nil
}

// Count returns how many document records exist, whatever their status.
func (s *Store) Count() (int, error) {
	n := 0
	err := s.view(func(tx *bolt.Tx) error {
		n = tx.Bucket(bDocs).Stats().KeyN
		return nil
	})
	return n, err
}

// List returns every document record, whatever its status, ordered by uniqueId. Meant for
// test assertions such as "every document published exactly once".
func (s *Store) List() ([]DocumentMeta, error) {
	var out []DocumentMeta
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bDocs).ForEach(func(k, v []byte) error {
			var m DocumentMeta
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("store: decode %q: %w", k, err)
			}
			out = append(out, m)
			return nil
		})
	})
	return out, err
}

func getMeta(tx *bolt.Tx, id string) (DocumentMeta, error) {
	raw := tx.Bucket(bDocs).Get([]byte(id))
	if raw == nil {
		return DocumentMeta{}, fmt.Errorf("store: document %q: %w", id, ErrNotFound)
	}
	var m DocumentMeta
	if err := json.Unmarshal(raw, &m); err != nil {
		return DocumentMeta{}, fmt.Errorf("store: decode %q: %w", id, err)
	}
	return m, nil
}

func putMeta(tx *bolt.Tx, m DocumentMeta) error {
	raw, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("store: encode %q: %w", m.UniqueID, err)
	}
	return tx.Bucket(bDocs).Put([]byte(m.UniqueID), raw)
}

// filterValue is the index value: the fields Search filters on besides patient and date.
func filterValue(m DocumentMeta) []byte {
	return []byte(m.Status + "\x00" + m.TypeCode + "\x00" + m.ClassCode + "\x00" + m.AuthorInstitution.Code)
}

// splitFilter undoes filterValue without allocating.
func splitFilter(v []byte) (status, typ, class, author []byte) {
	status, v, _ = bytes.Cut(v, sep)
	typ, v, _ = bytes.Cut(v, sep)
	class, author, _ = bytes.Cut(v, sep)
	return
}

// index adds (or removes) the search index entries of m.
func index(tx *bolt.Tx, m DocumentMeta, add bool) error {
	id, ct := []byte(m.UniqueID), descTime(m.CreationTime)
	keys := []struct {
		b []byte
		k []byte
	}{
		{bByCreated, join(ct, id)},
		{bByPatient, join([]byte(m.PatientCF), sep, ct, id)},
	}
	for _, e := range keys {
		var err error
		if add {
			err = tx.Bucket(e.b).Put(e.k, filterValue(m))
		} else {
			err = tx.Bucket(e.b).Delete(e.k)
		}
		if err != nil {
			return fmt.Errorf("store: index: %w", err)
		}
	}
	return nil
}
