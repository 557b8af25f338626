package saml

import (
	"errors"
	"fmt"
	"strings"
	"time"
	// The zone database, so that IssueInstant is written in Europe/Rome on any machine.
	_ "time/tzdata"

	"github.com/beevik/etree"
)

// The observed Puglia profile (it-fse-support #2501 #2511): one assertion, directly in
// soap:Header, not signed itself (the wsse:Security signature covers it), with the
// attribute vocabulary below.
const (
	// AttrTypeOfCare carries the document class (REF in #2501, Ref in #2511).
	AttrTypeOfCare = "urn:oasis:names:tc:fse:1.0:subject:typeofcare"
	// AttrConfidentiality is the patient's confidentiality flag ("false" in #2501).
	AttrConfidentiality = "urn:oasis:names:tc:xspa:1.0:resource:patient:hl7:confidentiality-code"

	// NSWSU is the WS-Security utility namespace (the assertion's wsu:Id).
	NSWSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
	// NSXSI is the XML Schema instance namespace (xsi:type, xsi:schemaLocation).
	NSXSI = "http://www.w3.org/2001/XMLSchema-instance"
	// NSXS is the XML Schema namespace (the xs:string of xsi:type).
	NSXS = "http://www.w3.org/2001/XMLSchema"
	// SchemaLocation is the assertion's xsi:schemaLocation, as observed.
	SchemaLocation = "urn:oasis:names:tc:SAML:2.0:assertion saml-schema-assertion-2.0.xsd"
	// PugliaTimeLayout writes IssueInstant with milliseconds and the local offset
	// ("2026-01-27T09:56:59.856+01:00", #2511).
	PugliaTimeLayout = "2006-01-02T15:04:05.000-07:00"
)

// PugliaOptions are what the observed assertion carries besides Attributes.
type PugliaOptions struct {
	// Issuer is the calling application's product code (NIGR in #2511); required.
	Issuer string
	// NameID is "<partita IVA>.<domain>", the structure's certificate CN (#2501); required.
	NameID string
	// Now is IssueInstant (written in Location).
	Now time.Time
	// TTL, when positive, adds Conditions NotBefore/NotOnOrAfter (modelled: the middle of
	// the observed assertion is not visible).
	TTL time.Duration
	// Location is the zone IssueInstant is written in; Europe/Rome when nil (UTC if the
	// zone database is missing).
	Location *time.Location
}

// pugliaPairs are the observed attributes, in the observed order. subject-id (the
// operator's CF) is modelled: the start of the attribute list is not visible in #2501, and
// the service compares the operator's CF with the smart card's (E000231).
func (a Attributes) pugliaPairs() []pair {
	conf := "false"
	if a.Confidential {
		conf = "true"
	}
	p := []pair{
		{AttrSubjectID, a.OperatorCF},
		{AttrOrganization, a.Organization},
		{AttrRole, a.Role},
	}
	if a.PatientCF != "" {
		p = append(p, pair{AttrResourceID, a.PatientCF})
	}
	if a.TypeOfCare != "" {
		p = append(p, pair{AttrTypeOfCare, a.TypeOfCare})
	}
	p = append(p, pair{AttrPurposeOfUse, a.PurposeOfUse})
	if a.DocumentType != "" {
		p = append(p, pair{AttrDocumentType, a.DocumentType})
	}
	p = append(p,
		pair{AttrConfidentiality, conf},
		pair{AttrActionID, a.Action},
		pair{AttrLocality, a.StructureCode},
		pair{AttrHomeCommunityID, a.HomeCommunityID},
	)
	return p
}

// CheckPuglia is Check for the observed profile: the locality is the structure's code.
func (a Attributes) CheckPuglia() error {
	for _, r := range []struct{ name, v string }{{"OperatorCF", a.OperatorCF}, {"Role", a.Role},
		{"StructureCode", a.StructureCode}, {"PurposeOfUse", a.PurposeOfUse}, {"Action", a.Action}} {
		if strings.TrimSpace(r.v) == "" {
			return fmt.Errorf("%w: %s is required", ErrInvalidAttributes, r.name)
		}
	}
	for _, r := range []struct{ name, v string }{{"OperatorCF", a.OperatorCF}, {"PatientCF", a.PatientCF}} {
		if strings.ContainsAny(r.v, "^&") {
			return fmt.Errorf("%w: %s must be a bare fiscal code", ErrInvalidAttributes, r.name)
		}
	}
	return nil
}

// BuildPuglia returns the observed assertion (ID and wsu:Id "identity-assertion",
// xsi:schemaLocation, Issuer, NameID, the attributes with xsi:type="xs:string"), serialised
// once and unsigned: the message signature covers it (reference #identity-assertion).
func BuildPuglia(a Attributes, o PugliaOptions) ([]byte, error) {
	a = a.WithDefaults()
	if err := a.CheckPuglia(); err != nil {
		return nil, err
	}
	if strings.TrimSpace(o.Issuer) == "" || strings.TrimSpace(o.NameID) == "" {
		return nil, errors.New("saml: the Puglia assertion needs an Issuer (the application's product code) and a NameID (<partita IVA>.<domain>)")
	}
	if o.Now.IsZero() {
		return nil, errors.New("saml: PugliaOptions.Now is required")
	}
	loc := o.Location
	if loc == nil {
		loc = rome()
	}
	now := o.Now.In(loc)
	as := etree.NewElement("saml:Assertion")
	as.CreateAttr("xmlns:saml", NS)
	as.CreateAttr("xmlns:wsu", NSWSU)
	as.CreateAttr("xmlns:xsi", NSXSI)
	// Modelled: xsi:type="xs:string" needs the xs prefix; the trace declares it elsewhere.
	as.CreateAttr("xmlns:xs", NSXS)
	as.CreateAttr("ID", IdentityAssertionID)
	as.CreateAttr("IssueInstant", now.Format(PugliaTimeLayout))
	as.CreateAttr("Version", "2.0")
	as.CreateAttr("wsu:Id", IdentityAssertionID)
	as.CreateAttr("xsi:schemaLocation", SchemaLocation)
	as.CreateElement("saml:Issuer").SetText(o.Issuer)
	as.CreateElement("saml:Subject").CreateElement("saml:NameID").SetText(o.NameID)
	if o.TTL > 0 {
		cond := as.CreateElement("saml:Conditions")
		cond.CreateAttr("NotBefore", now.Format(PugliaTimeLayout))
		cond.CreateAttr("NotOnOrAfter", now.Add(o.TTL).Format(PugliaTimeLayout))
	}
	stmt := as.CreateElement("saml:AttributeStatement")
	for _, p := range a.pugliaPairs() {
		at := stmt.CreateElement("saml:Attribute")
		at.CreateAttr("Name", p.name)
		at.CreateAttr("NameFormat", AttrNameFormatURI)
		v := at.CreateElement("saml:AttributeValue")
		v.CreateAttr("xsi:type", "xs:string")
		v.SetText(p.value)
	}
	doc := etree.NewDocument()
	doc.SetRoot(as)
	return doc.WriteToBytes()
}

// ParseUnsigned reads an assertion whose integrity another signature vouches for (the
// Puglia profile's: the message signature covers it). It checks Conditions against now
// (with skew) when present.
func ParseUnsigned(el *etree.Element, now time.Time, skew time.Duration) (*Assertion, error) {
	a, err := parse(el)
	if err != nil {
		return nil, err
	}
	if !a.NotBefore.IsZero() && now.Add(skew).Before(a.NotBefore) {
		return nil, errors.New("saml: assertion not yet valid")
	}
	if !a.NotOnOrAfter.IsZero() && !now.Add(-skew).Before(a.NotOnOrAfter) {
		return nil, errors.New("saml: assertion expired")
	}
	return a, nil
}

func rome() *time.Location {
	if l, err := time.LoadLocation("Europe/Rome"); err == nil {
		return l
	}
	return time.UTC
}
