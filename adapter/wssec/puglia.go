package wssec

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/wssec/saml"
)

// Identifiers of the Puglia profile: the token's as observed (#2501 "#X509-1"); the
// Timestamp's and the Body's are not visible in any trace (modelled).
const (
	PugliaTimestampID = "TS-1"
	PugliaTokenID     = "X509-1"
	PugliaBodyID      = "Body-1"
)

// pugliaSigned is the signed part of a Puglia security header: the Timestamp, the assertion
// the signature covers and the Signature element. It depends on the signer, the attributes
// and the instant only, never on the message (unless the Body is signed).
type pugliaSigned struct {
	created   time.Time       // the Timestamp's Created
	ts        string          // the wsu:Timestamp element as written
	assertion cachedAssertion // the assertion (xml nil when the message has none)
	sig       []byte          // the ds:Signature element
}

// pugliaParts secures envelope in the observed layout (ProfilePuglia).
func pugliaParts(envelope []byte, lay layout, p Params) ([][]byte, error) {
	var (
		s        pugliaSigned
		err      error
		bodyAttr string
	)
	switch {
	case p.SignBody:
		d, err := digestBody(envelope, PugliaBodyID, p.Algorithm.Hash())
		if err != nil {
			return nil, err
		}
		now := p.Clock()
		created := now
		if p.Presign != nil {
			created = p.Presign.stamp(now)
		}
		s, err = signPuglia(&p, now, created, &reference{uri: "#" + PugliaBodyID, digest: d})
		if err != nil {
			return nil, err
		}
		bodyAttr = ` xmlns:wsu="` + NSWSU + `" wsu:Id="` + PugliaBodyID + `"`
	case p.Presign != nil:
		s, err = p.Presign.header(&p)
	default:
		now := p.Clock()
		s, err = signPuglia(&p, now, now, nil)
	}
	if err != nil {
		return nil, err
	}

	// soap prefix for mustUnderstand: the envelope's, or a local one when it uses a default namespace.
	sp, spDecl := lay.prefix, ""
	if sp == "" {
		sp, spDecl = "soapenv", ` xmlns:soapenv="`+NSSOAP11+`"`
	}
	mu := spDecl + ` ` + sp + `:mustUnderstand="1"`
	var hb strings.Builder
	hb.Grow(1024 + len(s.assertion.xml) + len(s.ts) + len(s.sig) + base64.StdEncoding.EncodedLen(len(p.Signer.Cert.Raw)))
	wsa := func(name, extra, inner string) {
		hb.WriteString(`<` + name + ` xmlns="` + NSWSA + `"` + extra + `>`)
		hb.WriteString(inner)
		hb.WriteString(`</` + name + `>`)
	}
	wsa("To", "", esc(p.To))
	wsa("Action", mu, esc(p.Action))
	wsa("ReplyTo", mu, "<Address>"+esc(p.ReplyTo)+"</Address>")
	wsa("FaultTo", mu, "<Address>"+esc(p.FaultTo)+"</Address>")
	wsa("MessageID", mu, esc(p.MessageID))
	hb.Write(s.assertion.xml)
	hb.WriteString(`<wsse:Security xmlns:wsse="` + NSWSSE + `" xmlns:wsu="` + NSWSU + `"` + mu + `>`)
	hb.WriteString(s.ts)
	hb.WriteString(`<wsse:BinarySecurityToken EncodingType="` + EncodingBase64Binary + `" ValueType="` + ValueTypeX509v3 + `" wsu:Id="` + PugliaTokenID + `">`)
	hb.WriteString(base64.StdEncoding.EncodeToString(p.Signer.Cert.Raw))
	hb.WriteString(`</wsse:BinarySecurityToken>`)
	hb.Write(s.sig)
	hb.WriteString(`</wsse:Security>`)
	return assemble(envelope, lay, hb.String(), bodyAttr), nil
}

// signPuglia computes the signed part of a Puglia header: the Timestamp from created, the
// assertion for p's attributes (built at now, or reused from p.Assertions), and the one RSA
// signature over them and body, when not nil.
func signPuglia(p *Params, now, created time.Time, body *reference) (pugliaSigned, error) {
	refs := make([]reference, 0, 3)
	c, e := created.UTC().Format(timeLayout), created.Add(p.TimestampTTL).UTC().Format(timeLayout)
	s := pugliaSigned{created: created,
		ts: `<wsu:Timestamp wsu:Id="` + PugliaTimestampID + `"><wsu:Created>` + c + `</wsu:Created><wsu:Expires>` + e + `</wsu:Expires></wsu:Timestamp>`}
	th := p.Algorithm.Hash().New()
	th.Write([]byte(timestampC14N(PugliaTimestampID, c, e)))
	refs = append(refs, reference{uri: "#" + PugliaTimestampID, digest: th.Sum(nil)})

	if p.Attributes != nil {
		k := assertionKey{attrs: *p.Attributes, issuer: p.Issuer, nameID: p.NameID, hash: p.Algorithm.Hash(), ttl: p.AssertionTTL}
		a, ok := p.Assertions.get(k, now)
		if !ok {
			as, err := saml.BuildPuglia(*p.Attributes, saml.PugliaOptions{Issuer: p.Issuer, NameID: p.NameID, Now: now, TTL: p.AssertionTTL})
			if err != nil {
				return pugliaSigned{}, fmt.Errorf("wssec: %w", err)
			}
			// The assertion declares every namespace it uses: its exclusive canonical form is
			// the same alone and inside the envelope.
			d, err := digestFragment("<x>"+string(as)+"</x>", p.Algorithm.Hash())
			if err != nil {
				return pugliaSigned{}, fmt.Errorf("wssec: assertion digest: %w", err)
			}
			a = cachedAssertion{xml: as, digest: d, issued: now}
			p.Assertions.put(k, a)
		}
		s.assertion = a
		refs = append(refs, reference{uri: "#" + saml.IdentityAssertionID, digest: a.digest})
	}
	if body != nil {
		refs = append(refs, *body)
	}
	sig, ok, err := fastSignature(refs, PugliaTokenID, p.Signer.Key, p.Algorithm, "")
	if err == nil && !ok {
		sig, err = signature(refs, PugliaTokenID, p.Signer.Key, p.Algorithm, "")
	}
	if err != nil {
		return pugliaSigned{}, err
	}
	s.sig = sig
	return s, nil
}
