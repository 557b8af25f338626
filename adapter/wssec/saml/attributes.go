// Package saml builds and reads the two signed SAML 2.0 assertions that travel inside
// wsse:Security on the FSE legacy services: an identity assertion (ID "identity-assertion",
// the operator and where they work) and an attribute assertion (ID "attribute-assertion",
// what the operator wants to do to which patient and why).
//
// Assertions are built with etree, signed enveloped with goxmldsig using the exclusive
// canonicaliser (ds:Signature placed right after saml:Issuer, as the SAML schema wants) and
// serialised once: the returned bytes must be embedded byte for byte, never re-encoded.
//
// The attribute names are those of the national FSE infrastructure (XSPA/XACML URNs, see
// ministero-salute/it-fse-gtw-ini-client); the three SubjectApplication* names are modelled
// on the national JWT claims because no public Puglia trace shows them.
package saml

import (
	"errors"
	"fmt"
	"strings"

	"github.com/fsepuglia/fsepuglia/adapter/roles"
)

// Attribute names carried by the assertions.
const (
	AttrSubjectID       = "urn:oasis:names:tc:xacml:1.0:subject:subject-id"
	AttrRole            = "urn:oasis:names:tc:xacml:2.0:subject:role"
	AttrLocality        = "urn:oasis:names:tc:xspa:1.0:environment:locality"
	AttrOrganizationID  = "urn:oasis:names:tc:xspa:1.0:subject:organization-id"
	AttrOrganization    = "urn:oasis:names:tc:xspa:1.0:subject:organization"
	AttrPurposeOfUse    = "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse"
	AttrActionID        = "urn:oasis:names:tc:xacml:1.0:action:action-id"
	AttrResourceID      = "urn:oasis:names:tc:xacml:1.0:resource:resource-id"
	AttrHomeCommunityID = "urn:oasis:names:tc:xspa:1.0:resource:patient:home-community-id"
	AttrDocumentType    = "urn:oasis:names:tc:xspa:1.0:resource:hl7:type"
	AttrPatientConsent  = "urn:oasis:names:tc:xspa:1.0:resource:patient:consent"
	// AttrApplicationID, AttrApplicationVendor and AttrApplicationVersion are modelled on the
	// national JWT claims (subject_application_*): no public trace shows their SAML names.
	AttrApplicationID      = "urn:fsepuglia:names:subject:SubjectApplicationId"
	AttrApplicationVendor  = "urn:fsepuglia:names:subject:SubjectApplicationVendor"
	AttrApplicationVersion = "urn:fsepuglia:names:subject:SubjectApplicationVersion"
)

// Identifiers and defaults used when building attribute values.
const (
	// CFRoot is the OID of the Italian fiscal code assigning authority.
	CFRoot = "2.16.840.1.113883.2.9.4.3.2"
	// StructureRoot is the OID of the structure codes (STS11/HSP) used in the locality XON.
	StructureRoot = "2.16.840.1.113883.2.9.4.1.3"
	// LOINCRoot is the OID of LOINC, the code system of document types.
	LOINCRoot = "2.16.840.1.113883.6.1"
	// DefaultOrganizationID is Regione Puglia's region code.
	DefaultOrganizationID = "160"
	// DefaultOrganization is the organisation name sent with DefaultOrganizationID.
	DefaultOrganization = "Regione Puglia"
	// DefaultHomeCommunityID is Puglia's home community OID.
	DefaultHomeCommunityID = "2.16.840.1.113883.2.9.2.160"
)

// Attributes are the facts the assertions state about one request. Zero-valued
// OrganizationID, Organization and HomeCommunityID take Puglia's defaults; DocumentType,
// ApplicationID, Vendor and Version are optional; PatientCF is optional only for calls that
// concern no patient (the privacy notice); everything else is required.
type Attributes struct {
	OperatorCF      string // operator's codice fiscale (bare, 16 characters)
	Role            string // subject role code: AAS, APR, PSS, INF, FAR, DRS, ASS, TUT, ING, OGC, OPI, ...
	StructureName   string // locality: the structure's name
	StructureCode   string // locality: the structure's code
	OrganizationID  string // "160" when empty
	Organization    string // "Regione Puglia" when empty
	HomeCommunityID string // "2.16.840.1.113883.2.9.2.160" when empty
	PurposeOfUse    string // TREATMENT, EMERGENCY, PERSONAL, UPDATE, CONSENT, SYSADMIN, ...
	Action          string // CREATE, READ, UPDATE, DELETE
	PatientCF       string // patient's codice fiscale (bare)
	DocumentType    string // LOINC code of the document type, e.g. "11502-2" (optional)
	Consent         bool   // patient consent / "presa in carico"
	TypeOfCare      string // Puglia profile: the document class (typeofcare, REF in #2501; optional)
	Confidential    bool   // Puglia profile: patient:hl7:confidentiality-code ("false" in #2501)
	ApplicationID   string // calling application (optional)
	Vendor          string // its vendor (optional)
	Version         string // its version (optional)
}

// ErrInvalidAttributes is wrapped by every error of Attributes.Check.
var ErrInvalidAttributes = errors.New("saml: invalid attributes")

// WithDefaults returns a copy of a with the Puglia defaults filled in.
func (a Attributes) WithDefaults() Attributes {
	if a.OrganizationID == "" {
		a.OrganizationID = DefaultOrganizationID
	}
	if a.Organization == "" {
		a.Organization = DefaultOrganization
	}
	if a.HomeCommunityID == "" {
		a.HomeCommunityID = DefaultHomeCommunityID
	}
	return a
}

// Check reports the first required attribute that is missing, wrapping ErrInvalidAttributes.
// It names fields, never their values (they are personal data).
func (a Attributes) Check() error {
	req := []struct{ name, v string }{
		{"OperatorCF", a.OperatorCF}, {"Role", a.Role}, {"StructureName", a.StructureName},
		{"StructureCode", a.StructureCode}, {"PurposeOfUse", a.PurposeOfUse},
		{"Action", a.Action},
	}
	for _, r := range req {
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

// SubjectIDValue formats a fiscal code as the national subject-id value
// CF^^^&2.16.840.1.113883.2.9.4.3.2&ISO.
func SubjectIDValue(cf string) string { return cf + "^^^&" + CFRoot + "&ISO" }

// LocalityValue formats a structure as an XON: NAME^^^^^&2.16.840.1.113883.2.9.4.1.3&ISO^^^^CODE.
func LocalityValue(name, code string) string {
	return name + "^^^^^&" + StructureRoot + "&ISO^^^^" + code
}

// DocumentTypeValue formats a LOINC code as the national hl7:type value ('CODE^^2.16.840.1.113883.6.1').
func DocumentTypeValue(loinc string) string { return "('" + loinc + "^^" + LOINCRoot + "')" }

// parseSubjectID is the inverse of SubjectIDValue; it also accepts a bare CF.
func parseSubjectID(v string) string {
	cf, _, _ := strings.Cut(v, "^")
	return cf
}

// parseLocality is the inverse of LocalityValue.
func parseLocality(v string) (name, code string) {
	if !strings.Contains(v, "^") {
		return "", v // the Puglia profile's locality: the structure's code alone
	}
	parts := strings.Split(v, "^")
	name = parts[0]
	if len(parts) > 1 {
		code = parts[len(parts)-1]
	}
	return name, code
}

// parseDocumentType is the inverse of DocumentTypeValue; it also accepts a bare code.
func parseDocumentType(v string) string {
	v = strings.TrimSuffix(strings.TrimPrefix(v, "('"), "')")
	code, _, _ := strings.Cut(v, "^")
	return code
}

// pair is one attribute of an assertion, in document order.
type pair struct{ name, value string }

// identityPairs are the attributes of the identity assertion (who the operator is).
func (a Attributes) identityPairs() []pair {
	return []pair{
		{AttrSubjectID, SubjectIDValue(a.OperatorCF)},
		{AttrRole, a.Role},
		{AttrLocality, LocalityValue(a.StructureName, a.StructureCode)},
		{AttrOrganizationID, a.OrganizationID},
		{AttrOrganization, a.Organization},
	}
}

// requestPairs are the attributes of the attribute assertion (what is asked and why).
func (a Attributes) requestPairs() []pair {
	p := []pair{
		{AttrPurposeOfUse, a.PurposeOfUse},
		{AttrActionID, a.Action},
	}
	if a.PatientCF != "" {
		// Omitted only for calls that concern no patient (recuperoInformativa).
		p = append(p, pair{AttrResourceID, a.PatientCF})
	}
	p = append(p, pair{AttrHomeCommunityID, a.HomeCommunityID})
	if a.DocumentType != "" {
		p = append(p, pair{AttrDocumentType, DocumentTypeValue(a.DocumentType)})
	}
	consent := "false"
	if a.Consent {
		consent = "true"
	}
	p = append(p, pair{AttrPatientConsent, consent})
	for _, o := range []pair{{AttrApplicationID, a.ApplicationID}, {AttrApplicationVendor, a.Vendor}, {AttrApplicationVersion, a.Version}} {
		if o.value != "" {
			p = append(p, o)
		}
	}
	return p
}

// AttributesFrom rebuilds Attributes from the attribute values of verified assertions
// (later assertions do not override values already set by earlier ones).
func AttributesFrom(assertions ...*Assertion) Attributes {
	var a Attributes
	set := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	for _, as := range assertions {
		if as == nil {
			continue
		}
		for name, vals := range as.Attributes {
			if len(vals) == 0 {
				continue
			}
			v := vals[0]
			switch name {
			case AttrSubjectID:
				set(&a.OperatorCF, parseSubjectID(v))
			case AttrRole:
				set(&a.Role, v)
			case AttrLocality:
				n, c := parseLocality(v)
				set(&a.StructureName, n)
				set(&a.StructureCode, c)
			case AttrOrganizationID:
				set(&a.OrganizationID, v)
			case AttrOrganization:
				set(&a.Organization, v)
			case AttrHomeCommunityID:
				set(&a.HomeCommunityID, v)
			case AttrPurposeOfUse:
				set(&a.PurposeOfUse, v)
			case AttrActionID:
				set(&a.Action, v)
			case AttrResourceID:
				set(&a.PatientCF, parseSubjectID(v))
			case AttrDocumentType:
				set(&a.DocumentType, parseDocumentType(v))
			case AttrPatientConsent:
				a.Consent = a.Consent || strings.EqualFold(strings.TrimSpace(v), "true")
			case AttrTypeOfCare:
				set(&a.TypeOfCare, v)
			case AttrConfidentiality:
				a.Confidential = a.Confidential || strings.EqualFold(strings.TrimSpace(v), "true")
			case AttrApplicationID:
				set(&a.ApplicationID, v)
			case AttrApplicationVendor:
				set(&a.Vendor, v)
			case AttrApplicationVersion:
				set(&a.Version, v)
			}
		}
	}
	return a
}

// SubjectRoles are the subject role codes an assertion may carry: the national list (the
// FSE 2.0 gateway's) and the Puglia services' consent operators (OGC, OPI): roles.Legacy.
var SubjectRoles = roles.Legacy()

// KnownRole reports whether role is one of SubjectRoles (case-insensitive) or a regional role
// code of the form observed on the wire (it-fse-support #2501, #2511: "RIS000044", three
// letters and six digits).
func KnownRole(role string) bool {
	for _, r := range SubjectRoles {
		if strings.EqualFold(r, role) {
			return true
		}
	}
	if len(role) != 9 {
		return false
	}
	for i := 0; i < 9; i++ {
		c := role[i]
		if i < 3 && (c < 'A' || c > 'Z') || i >= 3 && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
