package gateway

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/fsepuglia/fsepuglia/adapter/codicefiscale"
	"github.com/fsepuglia/fsepuglia/adapter/roles"
)

// Operation is a gateway operation. It fixes the allowed action_id and purpose_of_use of the
// FSE-JWT-Signature and which claims are required.
type Operation string

// The operations of the gateway API.
const (
	OpValidation         Operation = "validation"
	OpCreate             Operation = "create"
	OpReplace            Operation = "replace"
	OpUpdateMetadata     Operation = "update-metadata"
	OpDelete             Operation = "delete"
	OpValidateAndCreate  Operation = "validate-and-create"
	OpValidateAndReplace Operation = "validate-and-replace"
	OpStatus             Operation = "status"
)

// Rule is what the gateway requires of the FSE-JWT-Signature for one operation
// (GWDOC Tab. 55; the dispatcher's JwtSRV.validatePayloadFor*).
type Rule struct {
	// Actions are the accepted action_id values, the first being the one sent by default.
	Actions []string
	// Purposes are the accepted purpose_of_use values, the first being the default.
	Purposes []string
	// HL7Type, Hash and Locality say whether resource_hl7_type, attachment_hash and a
	// well-formed XON locality are required.
	HL7Type, Hash, Locality bool
}

// Rules is the per-operation table of JWT rules; the client and the simulator read it.
var Rules = map[Operation]Rule{
	OpValidation:         {Actions: []string{"CREATE", "UPDATE"}, Purposes: []string{"TREATMENT"}, HL7Type: true},
	OpCreate:             {Actions: []string{"CREATE"}, Purposes: []string{"TREATMENT"}, HL7Type: true, Hash: true, Locality: true},
	OpReplace:            {Actions: []string{"UPDATE"}, Purposes: []string{"UPDATE", "TREATMENT"}, HL7Type: true, Hash: true, Locality: true},
	OpUpdateMetadata:     {Actions: []string{"UPDATE"}, Purposes: []string{"UPDATE", "ACCESS UPDATE"}, HL7Type: true, Locality: true},
	OpDelete:             {Actions: []string{"DELETE"}, Purposes: []string{"UPDATE"}, Locality: true},
	OpValidateAndCreate:  {Actions: []string{"CREATE"}, Purposes: []string{"TREATMENT"}, HL7Type: true, Hash: true, Locality: true},
	OpValidateAndReplace: {Actions: []string{"UPDATE"}, Purposes: []string{"UPDATE", "TREATMENT"}, HL7Type: true, Hash: true, Locality: true},
}

// The identity constants of the claims.
const (
	// OIDFiscalCode is the assigning authority of fiscal codes in CX identifiers.
	OIDFiscalCode = "2.16.840.1.113883.2.9.4.3.2"
	// RegionPugliaID and RegionPuglia are subject_organization_id and subject_organization
	// of Regione Puglia (GWDOC §15.3.7).
	RegionPugliaID = "160"
	RegionPuglia   = "Regione Puglia"
	// OIDStructures is the assigning authority of the structure codes in the XON locality.
	OIDStructures = "2.16.840.1.113883.2.9.4.1.3"
)

// Organizations is the subject_organization_id → subject_organization table this client
// accepts: the tool serves Regione Puglia, so only its pair (the dispatcher refuses a pair
// that does not match its table).
var Organizations = map[string]string{RegionPugliaID: RegionPuglia}

// SubjectRoles are the subject_role values of GWDOC §15.3.5 (roles.National).
var SubjectRoles = slices.Clone(roles.National)

// LocalityPattern is the dispatcher's XON check of the locality claim (JwtSRV#isValidLocality).
var LocalityPattern = regexp.MustCompile(`^[^\^]*\^{5}\&[^&]*\&ISO\^{4}[^\^&]*$`)

var (
	cxPattern      = regexp.MustCompile(`^([^\^]+)\^\^\^&` + regexp.QuoteMeta(OIDFiscalCode) + `&ISO$`)
	hl7TypePattern = regexp.MustCompile(`^\('[^'\^]+\^\^[0-9.]+'\)$`)
	hashPattern    = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// CX returns a fiscal code in IHE CX form: CF^^^&2.16.840.1.113883.2.9.4.3.2&ISO.
func CX(cf string) string { return cf + "^^^&" + OIDFiscalCode + "&ISO" }

// CFFromCX returns the fiscal code of a CX identifier, or "" when it is not one.
func CFFromCX(cx string) string {
	m := cxPattern.FindStringSubmatch(cx)
	if m == nil {
		return ""
	}
	return m[1]
}

// XON returns the locality claim of a structure: NAME^^^^^&OID&ISO^^^^CODE.
func XON(name, code string) string {
	return strings.ReplaceAll(name, "^", " ") + "^^^^^&" + OIDStructures + "&ISO^^^^" + code
}

// HL7Type returns the resource_hl7_type claim of a CDA whose first code is code/codeSystem.
func HL7Type(code, codeSystem string) string { return "('" + code + "^^" + codeSystem + "')" }

// AttachmentHash returns the attachment_hash claim of the exact bytes uploaded: lower-case
// hex SHA-256.
func AttachmentHash(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// Claims are the claims of both JWTs. The Authorization (Bearer) token carries the
// registered claims only; FSE-JWT-Signature carries all of them. Optional booleans are
// pointers so that false is sent and absence is absence.
type Claims struct {
	Issuer    string `json:"iss"`
	Subject   string `json:"sub"`
	Audience  string `json:"aud"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp"`
	ID        string `json:"jti"`

	SubjectRole               string `json:"subject_role,omitempty"`
	SubjectOrganizationID     string `json:"subject_organization_id,omitempty"`
	SubjectOrganization       string `json:"subject_organization,omitempty"`
	Locality                  string `json:"locality,omitempty"`
	PurposeOfUse              string `json:"purpose_of_use,omitempty"`
	ActionID                  string `json:"action_id,omitempty"`
	PersonID                  string `json:"person_id,omitempty"`
	PatientConsent            *bool  `json:"patient_consent,omitempty"`
	ResourceHL7Type           string `json:"resource_hl7_type,omitempty"`
	AttachmentHash            string `json:"attachment_hash,omitempty"`
	SubjectApplicationID      string `json:"subject_application_id,omitempty"`
	SubjectApplicationVendor  string `json:"subject_application_vendor,omitempty"`
	SubjectApplicationVersion string `json:"subject_application_version,omitempty"`
	UseSubjectAsAuthor        *bool  `json:"use_subject_as_author,omitempty"`
}

// GetExpirationTime implements jwt.Claims.
func (c Claims) GetExpirationTime() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.ExpiresAt, 0)), nil
}

// GetIssuedAt implements jwt.Claims.
func (c Claims) GetIssuedAt() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.IssuedAt, 0)), nil
}

// GetNotBefore implements jwt.Claims (no nbf is sent).
func (c Claims) GetNotBefore() (*jwt.NumericDate, error) { return nil, nil }

// GetIssuer implements jwt.Claims.
func (c Claims) GetIssuer() (string, error) { return c.Issuer, nil }

// GetSubject implements jwt.Claims.
func (c Claims) GetSubject() (string, error) { return c.Subject, nil }

// GetAudience implements jwt.Claims.
func (c Claims) GetAudience() (jwt.ClaimStrings, error) { return jwt.ClaimStrings{c.Audience}, nil }

// Bearer returns the registered claims only, with iss = auth:<CN>, for the Authorization
// header.
func (c Claims) Bearer() Claims {
	cn := strings.TrimPrefix(c.Issuer, "integrity:")
	return Claims{Issuer: "auth:" + cn, Subject: c.Subject, Audience: c.Audience, IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt, ID: c.ID + "-auth"}
}

// ClaimError is a claim the gateway would refuse, refused here before anything is sent.
type ClaimError struct {
	// Token is "Authorization" or "FSE-JWT-Signature".
	Token string
	// Claim is the claim's name.
	Claim string
	// Msg says what is wrong; it never holds the fiscal codes of the claim.
	Msg string
	// Fix says what to change.
	Fix string
}

// Error implements error.
func (e *ClaimError) Error() string {
	s := fmt.Sprintf("gateway: JWT %s claim %s: %s", e.Token, e.Claim, e.Msg)
	if e.Fix != "" {
		s += "; " + e.Fix
	}
	return s
}

// Facts are what the document says, against which the claims are checked before sending.
type Facts struct {
	// PatientCF is the CDA's patientRole/id/@extension ("" when there is no CDA: delete).
	PatientCF string
	// HL7Type is HL7Type of the CDA's first code ("" when there is no CDA).
	HL7Type string
	// Uploaded are the exact bytes sent as the file part (nil when there is none).
	Uploaded []byte
	// Signed says whether the uploaded PDF carries a PAdES signature.
	Signed bool
}

// CheckClaims runs the checks the gateway runs on the FSE-JWT-Signature of op, against the
// document's facts, and returns the first claim that would be refused as a *ClaimError.
func CheckClaims(op Operation, c Claims, f Facts) error {
	bad := func(claim, msg, fix string) error {
		return &ClaimError{Token: "FSE-JWT-Signature", Claim: claim, Msg: msg, Fix: fix}
	}
	if cn, ok := strings.CutPrefix(c.Issuer, "integrity:"); !ok || strings.TrimSpace(cn) == "" {
		return bad("iss", "must be integrity:<CN of the signing certificate>", "configure the JWT signing certificate (gateway.jwt_cert_file or tls.cert_file)")
	}
	if c.Audience == "" {
		return bad("aud", "missing", "set gateway.audience (default: the national base URL)")
	}
	if c.IssuedAt == 0 || c.ExpiresAt <= c.IssuedAt {
		return bad("exp", "must be after iat", "")
	}
	if c.ID == "" {
		return bad("jti", "missing", "")
	}
	sub := CFFromCX(c.Subject)
	if sub == "" || codicefiscale.Validate(sub) != nil {
		return bad("sub", "must be the operator's valid fiscal code in CX form (CF^^^&"+OIDFiscalCode+"&ISO)", "set operator.cf to the operator's codice fiscale")
	}
	if !slices.Contains(SubjectRoles, c.SubjectRole) {
		return bad("subject_role", fmt.Sprintf("%q is not a role of GWDOC §15.3.5", c.SubjectRole), "set operator.role to one of "+strings.Join(SubjectRoles, " "))
	}
	if want, ok := Organizations[c.SubjectOrganizationID]; !ok || want != c.SubjectOrganization {
		return bad("subject_organization", fmt.Sprintf("pair %q/%q is not in the table", c.SubjectOrganizationID, c.SubjectOrganization), "use "+RegionPugliaID+"/"+RegionPuglia)
	}
	if c.SubjectApplicationID == "" || c.SubjectApplicationVendor == "" || c.SubjectApplicationVersion == "" {
		return bad("subject_application_id", "subject_application_id, _vendor and _version are required: they identify the accredited software", "set application.id, application.vendor and application.version to the accredited triplet")
	}
	if c.PatientConsent == nil {
		return bad("patient_consent", "missing", "")
	}
	r, ok := Rules[op]
	if !ok {
		return bad("action_id", "operation "+string(op)+" takes no FSE-JWT-Signature", "")
	}
	if !slices.Contains(r.Actions, c.ActionID) {
		return bad("action_id", fmt.Sprintf("%q is not allowed for %s (allowed: %s)", c.ActionID, op, strings.Join(r.Actions, ", ")), "")
	}
	if !slices.Contains(r.Purposes, c.PurposeOfUse) {
		return bad("purpose_of_use", fmt.Sprintf("%q is not allowed for %s (allowed: %s)", c.PurposeOfUse, op, strings.Join(r.Purposes, ", ")), "")
	}
	person := CFFromCX(c.PersonID)
	if person == "" || codicefiscale.Validate(person) != nil {
		return bad("person_id", "must be the patient's valid fiscal code in CX form", "")
	}
	if f.PatientCF != "" && person != f.PatientCF {
		return bad("person_id", "differs from the CDA's recordTarget/patientRole/id/@extension", "publish the document for the patient it names")
	}
	if r.Locality && !LocalityPattern.MatchString(c.Locality) {
		return bad("locality", "not in XON form NAME^^^^^&OID&ISO^^^^CODE", "set structure.name and structure.code, or gateway.locality")
	}
	if r.HL7Type || c.ResourceHL7Type != "" {
		switch {
		case !hl7TypePattern.MatchString(c.ResourceHL7Type):
			return bad("resource_hl7_type", fmt.Sprintf("%q is not ('CODE^^CODESYSTEM')", c.ResourceHL7Type), "")
		case f.HL7Type != "" && c.ResourceHL7Type != f.HL7Type:
			return bad("resource_hl7_type", fmt.Sprintf("%q differs from the CDA's first code %q", c.ResourceHL7Type, f.HL7Type), "")
		}
	}
	if r.Hash || c.AttachmentHash != "" {
		switch {
		case !hashPattern.MatchString(c.AttachmentHash):
			return bad("attachment_hash", "must be the lower-case hex SHA-256 of the uploaded file", "")
		case f.Uploaded != nil && c.AttachmentHash != AttachmentHash(f.Uploaded):
			return bad("attachment_hash", "is not the SHA-256 of the bytes uploaded", "hash the exact file sent (the signed PDF)")
		}
	}
	return nil
}

// rsaSigner is a golang-jwt signing method over any crypto.Signer holding an RSA key (a file
// key, a smart card, an HSM): RS256 = RSASSA-PKCS1-v1_5 with SHA-256.
type rsaSigner struct{}

func (rsaSigner) Alg() string { return "RS256" }

func (rsaSigner) Sign(signingString string, key any) ([]byte, error) {
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, jwt.ErrInvalidKeyType
	}
	if _, ok := s.Public().(*rsa.PublicKey); !ok {
		return nil, jwt.ErrInvalidKeyType
	}
	h := sha256.Sum256([]byte(signingString))
	return s.Sign(rand.Reader, h[:], crypto.SHA256)
}

func (rsaSigner) Verify(signingString string, sig []byte, key any) error {
	return jwt.SigningMethodRS256.Verify(signingString, sig, key)
}

// Sign returns the compact JWT of c, RS256, with typ JWT and x5c the signing certificate
// chain (base64 DER, leaf first).
func Sign(c Claims, key crypto.Signer, chain []*x509.Certificate) (string, error) {
	if len(chain) == 0 {
		return "", fmt.Errorf("gateway: no signing certificate for x5c")
	}
	t := jwt.NewWithClaims(rsaSigner{}, c)
	x5c := make([]string, len(chain))
	for i, cert := range chain {
		x5c[i] = base64.StdEncoding.EncodeToString(cert.Raw)
	}
	t.Header["x5c"] = x5c
	s, err := t.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("gateway: sign JWT: %w", err)
	}
	return s, nil
}
