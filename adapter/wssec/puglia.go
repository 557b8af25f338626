package wssec

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/fsepuglia/fsepuglia/adapter/wssec/saml"
)

// Identifiers of the Puglia profile: the token's as observed (#2501 "#X509-1"); the
// Timestamp's and the Body's are not visible in any trace (modelled).
const (
	PugliaTimestampID = "TS-1"
	PugliaTokenID     = "X509-1"
	PugliaBodyID      = "Body-1"
)

// pugliaParts secures envelope in the observed layout (ProfilePuglia).
func pugliaParts(envelope []byte, lay layout, p Params) ([][]byte, error) {
	now := p.Clock()
	// soap prefix for mustUnderstand: the envelope's, or a local one when it uses a default namespace.
	sp, spDecl := lay.prefix, ""
	if sp == "" {
		sp, spDecl = "soapenv", ` xmlns:soapenv="`+NSSOAP11+`"`
	}
	mu := spDecl + ` ` + sp + `:mustUnderstand="1"`

	var hb strings.Builder
	wsa := func(name, extra, inner string) {
		fmt.Fprintf(&hb, `<%s xmlns="%s"%s>%s</%s>`, name, NSWSA, extra, inner, name)
	}
	wsa("To", "", esc(p.To))
	wsa("Action", mu, esc(p.Action))
	wsa("ReplyTo", mu, "<Address>"+esc(p.ReplyTo)+"</Address>")
	wsa("FaultTo", mu, "<Address>"+esc(p.FaultTo)+"</Address>")
	wsa("MessageID", mu, esc(p.MessageID))

	refs := make([]reference, 0, 3)
	secStart := fmt.Sprintf(`<wsse:Security xmlns:wsse="%s" xmlns:wsu="%s"%s>`, NSWSSE, NSWSU, mu)
	created, expires := now.UTC().Format(timeLayout), now.Add(p.TimestampTTL).UTC().Format(timeLayout)
	ts := `<wsu:Timestamp wsu:Id="` + PugliaTimestampID + `"><wsu:Created>` + created + `</wsu:Created><wsu:Expires>` + expires + `</wsu:Expires></wsu:Timestamp>`
	th := p.Algorithm.Hash().New()
	th.Write([]byte(timestampC14N(PugliaTimestampID, created, expires)))
	refs = append(refs, reference{uri: "#" + PugliaTimestampID, digest: th.Sum(nil)})

	if p.Attributes != nil {
		k := assertionKey{attrs: *p.Attributes, issuer: p.Issuer, nameID: p.NameID, hash: p.Algorithm.Hash(), ttl: p.AssertionTTL}
		e, ok := p.Assertions.get(k, now)
		if !ok {
			as, err := saml.BuildPuglia(*p.Attributes, saml.PugliaOptions{Issuer: p.Issuer, NameID: p.NameID, Now: now, TTL: p.AssertionTTL})
			if err != nil {
				return nil, fmt.Errorf("wssec: %w", err)
			}
			// The assertion declares every namespace it uses: its exclusive canonical form is
			// the same alone and inside the envelope.
			d, err := digestFragment("<x>"+string(as)+"</x>", p.Algorithm.Hash())
			if err != nil {
				return nil, fmt.Errorf("wssec: assertion digest: %w", err)
			}
			e = cachedAssertion{xml: as, digest: d, issued: now}
			p.Assertions.put(k, e)
		}
		hb.Write(e.xml)
		refs = append(refs, reference{uri: "#" + saml.IdentityAssertionID, digest: e.digest})
	}

	var bodyAttr string
	if p.SignBody {
		d, err := digestBody(envelope, PugliaBodyID, p.Algorithm.Hash())
		if err != nil {
			return nil, err
		}
		refs = append(refs, reference{uri: "#" + PugliaBodyID, digest: d})
		bodyAttr = fmt.Sprintf(` xmlns:wsu="%s" wsu:Id="%s"`, NSWSU, PugliaBodyID)
	}

	sig, ok, err := fastSignature(refs, PugliaTokenID, p.Signer.Key, p.Algorithm, "")
	if err == nil && !ok {
		sig, err = signature(refs, PugliaTokenID, p.Signer.Key, p.Algorithm, "")
	}
	if err != nil {
		return nil, err
	}
	hb.WriteString(secStart)
	hb.WriteString(ts)
	fmt.Fprintf(&hb, `<wsse:BinarySecurityToken EncodingType="%s" ValueType="%s" wsu:Id="%s">%s</wsse:BinarySecurityToken>`,
		EncodingBase64Binary, ValueTypeX509v3, PugliaTokenID, base64.StdEncoding.EncodeToString(p.Signer.Cert.Raw))
	hb.Write(sig)
	hb.WriteString(`</wsse:Security>`)
	return assemble(envelope, lay, hb.String(), bodyAttr), nil
}
