package mongo

import (
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.uber.org/zap"

	"github.com/reqcache/reqcache/internal/seal"
	"github.com/reqcache/reqcache/stores"
)

// Sealed documents ([encryption], WithSeal): what a reader of the
// database must not learn — response and request headers, the body — is
// sealed (internal/seal: AES-256-GCM, the document's _id as additional
// data); what the store queries stays in the clear: _id and uri (keyed
// hashes), the redacted URL and method, status, times, sizes, the key id.

// sealedPart is what a sealed document seals.
type sealedPart struct {
	Headers        []headerField `bson:"h"`
	RequestHeaders []headerField `bson:"rh"`
	Body           []byte        `bson:"b,omitempty"` // an inline body (a GridFS body is sealed on its own)
	GeneratedAt    *time.Time    `bson:"g,omitempty"` // made of the headers' Date and Age
}

// sealOverhead is what sealing adds to a value: the nonce and the tag.
const sealOverhead = 12 + 16

// sealDocument moves d's headers and inline body into d.Sealed.
func (s *Store) sealDocument(d *document) error {
	b, err := bson.Marshal(sealedPart{Headers: d.Headers, RequestHeaders: d.RequestHeaders, Body: d.Body, GeneratedAt: d.GeneratedAt})
	if err != nil {
		return err
	}
	d.KeyID, d.Sealed = s.ring.Seal([]byte(d.ID), b)
	d.Headers, d.RequestHeaders, d.Body, d.GeneratedAt = nil, nil, nil, nil
	return nil
}

// bodyAD is the additional data of a GridFS body: its document's _id,
// told apart from the document's own.
func bodyAD(id string) []byte { return []byte(id + "\x00body") }

// openDocument undoes sealDocument. A document sealed with a key this
// process does not hold is a miss left in place (a process of the fleet
// that holds it reads it); one that is not sealed while sealing is on, or
// does not open (altered, or moved under another _id), is corrupt.
func (s *Store) openDocument(d *document) error {
	switch {
	case d.KeyID == "" && s.ring == nil:
		return nil
	case d.KeyID == "":
		return fmt.Errorf("%w: not sealed, and [encryption] is on", stores.ErrCorrupt)
	}
	plain, err := s.ring.Open(d.KeyID, []byte(d.ID), d.Sealed)
	if errors.Is(err, seal.ErrUnknownKey) {
		s.foreignMisses.Add(1)
		if _, seen := s.foreignKeys.LoadOrStore(d.KeyID, true); !seen {
			s.log.Warn("reqcache: mongo documents sealed with a key this process does not hold are misses (left for the processes that hold it)", zap.String("key_id", d.KeyID))
		}
		return fmt.Errorf("%w: sealed with key %s", stores.ErrNotFound, d.KeyID)
	}
	if err != nil {
		return fmt.Errorf("%w: %v", stores.ErrCorrupt, err)
	}
	var p sealedPart
	if err := bson.Unmarshal(plain, &p); err != nil {
		return fmt.Errorf("%w: sealed part: %v", stores.ErrCorrupt, err)
	}
	d.Headers, d.RequestHeaders, d.Body, d.GeneratedAt = p.Headers, p.RequestHeaders, p.Body, p.GeneratedAt
	return nil
}

// openBody opens a sealed GridFS body.
func (s *Store) openBody(d *document, stored []byte) ([]byte, error) {
	if d.KeyID == "" {
		return stored, nil
	}
	b, err := s.ring.Open(d.KeyID, bodyAD(d.ID), stored)
	if err != nil {
		return nil, fmt.Errorf("%w: body: %v", stores.ErrCorrupt, err)
	}
	return b, nil
}

// ForeignKeyMisses counts the documents read that were sealed with a key
// this process does not hold (misses, left in place): for stats.
func (s *Store) ForeignKeyMisses() int64 { return s.foreignMisses.Load() }
