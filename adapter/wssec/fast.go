package wssec

import (
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/wssec/saml"
)

// The pieces below write, as strings, what the etree path (signature, digestFragment) builds
// and canonicalises: the Timestamp and the SignedInfo have fixed shapes, so their exclusive
// canonical forms are templates. fast_test.go holds them equal to the etree path's output.

// timestampC14N is the exclusive canonical form of the Timestamp written by both profiles
// inside wsse:Security (which declares wsu): only wsu is visibly used, so it is declared on
// the Timestamp itself.
func timestampC14N(id, created, expires string) string {
	return `<wsu:Timestamp xmlns:wsu="` + NSWSU + `" wsu:Id="` + id + `"><wsu:Created>` + created +
		`</wsu:Created><wsu:Expires>` + expires + `</wsu:Expires></wsu:Timestamp>`
}

// safeAttr reports whether s needs no escaping as an attribute value, canonical or not.
func safeAttr(s string) bool { return !strings.ContainsAny(s, "&<>\"\t\n\r") }

// fastSignature is signature without etree, for references and ids that need no escaping;
// ok is false when they would (the caller then takes the etree path).
func fastSignature(refs []reference, bstID string, key crypto.Signer, alg Algorithm, prefix string) (out []byte, ok bool, err error) {
	if !safeAttr(bstID) {
		return nil, false, nil
	}
	for _, r := range refs {
		if !safeAttr(r.uri) {
			return nil, false, nil
		}
	}
	q := func(local string) string {
		if prefix == "" {
			return local
		}
		return prefix + ":" + local
	}
	decl := ` xmlns="` + NSDSig + `"`
	if prefix != "" {
		decl = ` xmlns:` + prefix + `="` + NSDSig + `"`
	}
	// inner writes SignedInfo's children; empty elements are self-closed on the wire (as
	// etree writes them) and written with end tags in the canonical form.
	inner := func(b *strings.Builder, canonical bool) {
		empty := func(name, attrs string) {
			b.WriteString("<" + q(name) + attrs)
			if canonical {
				b.WriteString("></" + q(name) + ">")
			} else {
				b.WriteString("/>")
			}
		}
		empty("CanonicalizationMethod", ` Algorithm="`+AlgExcC14N+`"`)
		empty("SignatureMethod", ` Algorithm="`+alg.SignatureMethod()+`"`)
		for _, r := range refs {
			b.WriteString("<" + q("Reference") + ` URI="` + r.uri + `"><` + q("Transforms") + ">")
			empty("Transform", ` Algorithm="`+AlgExcC14N+`"`)
			b.WriteString("</" + q("Transforms") + ">")
			empty("DigestMethod", ` Algorithm="`+alg.DigestMethod()+`"`)
			b.WriteString("<" + q("DigestValue") + ">" + base64.StdEncoding.EncodeToString(r.digest) + "</" + q("DigestValue") + "></" + q("Reference") + ">")
		}
	}
	var canon strings.Builder
	canon.WriteString("<" + q("SignedInfo") + decl + ">")
	inner(&canon, true)
	canon.WriteString("</" + q("SignedInfo") + ">")
	h := alg.Hash().New()
	h.Write([]byte(canon.String()))
	raw, err := key.Sign(rand.Reader, h.Sum(nil), alg.Hash())
	if err != nil {
		return nil, true, fmt.Errorf("wssec: signing: %w", err)
	}
	var b strings.Builder
	b.Grow(canon.Len() + 1024)
	b.WriteString("<" + q("Signature") + decl + "><" + q("SignedInfo") + ">")
	inner(&b, false)
	b.WriteString("</" + q("SignedInfo") + "><" + q("SignatureValue") + ">" + base64.StdEncoding.EncodeToString(raw) + "</" + q("SignatureValue") + ">")
	b.WriteString("<" + q("KeyInfo") + `><wsse:SecurityTokenReference><wsse:Reference URI="#` + bstID + `" ValueType="` + ValueTypeX509v3 + `"/></wsse:SecurityTokenReference></` + q("KeyInfo") + ">")
	b.WriteString("</" + q("Signature") + ">")
	return []byte(b.String()), true, nil
}

// AssertionCache keeps the Puglia assertions a client built, with their digests, and hands
// the same one back for the same attributes, issuer, NameID, algorithm and lifetime while it
// has more than half of its validity left (the profile lets an assertion serve every message
// inside its Conditions; each message still gets its own Timestamp and signature). The zero
// value is ready; it is safe for concurrent use.
type AssertionCache struct {
	mu sync.Mutex
	m  map[assertionKey]cachedAssertion
}

// assertionCacheMax bounds the cache: when full it starts again empty.
const assertionCacheMax = 256

type assertionKey struct {
	attrs          saml.Attributes
	issuer, nameID string
	hash           crypto.Hash
	ttl            time.Duration
}

type cachedAssertion struct {
	xml, digest []byte
	issued      time.Time
}

func (c *AssertionCache) get(k assertionKey, now time.Time) (cachedAssertion, bool) {
	if c == nil {
		return cachedAssertion{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || now.Before(e.issued) || now.Sub(e.issued) >= k.ttl/2 {
		return cachedAssertion{}, false
	}
	return e, true
}

func (c *AssertionCache) put(k assertionKey, e cachedAssertion) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= assertionCacheMax {
		c.m = make(map[assertionKey]cachedAssertion)
	}
	c.m[k] = e
}
