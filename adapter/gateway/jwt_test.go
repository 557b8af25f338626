package gateway_test

import (
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/gateway"
	"github.com/fsepuglia/fsepuglia/adapter/internal/testenv"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sim/middleware"
	"github.com/fsepuglia/fsepuglia/adapter/sim/middleware/mwtest"
)

// pyjwt decodes and verifies a JWT with python3-jwt (Debian), using the public key of the
// certificate in its own x5c header, and prints header and claims.
const pyjwt = `
import base64, json, sys
import jwt
from cryptography import x509
tok, aud = sys.argv[1], sys.argv[2]
h = jwt.get_unverified_header(tok)
cert = x509.load_der_x509_certificate(base64.b64decode(h["x5c"][0]))
claims = jwt.decode(tok, cert.public_key(), algorithms=["RS256"], audience=aud,
                    options={"require": ["exp", "iat", "iss", "sub", "aud", "jti"]})
cn = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
print(json.dumps({"header": h, "claims": claims, "cn": cn}))
`

func python3JWT(t *testing.T) string {
	t.Helper()
	py := testenv.Tool(t, "/usr/bin/python3", "apt-get install python3 (Debian's, not a pyenv one)")
	if out, err := exec.Command(py, "-c", "import jwt, cryptography").CombinedOutput(); err != nil {
		testenv.Missing(t, "python3-jwt not importable: "+strings.TrimSpace(string(out)), "apt-get install python3-jwt python3-cryptography")
	}
	return py
}

type decoded struct {
	Header map[string]any `json:"header"`
	Claims map[string]any `json:"claims"`
	CN     string         `json:"cn"`
}

func decodeWithPyJWT(t *testing.T, py, tok, aud string) decoded {
	t.Helper()
	out, err := exec.Command(py, "-c", pyjwt, tok, aud).CombinedOutput()
	if err != nil {
		t.Fatalf("python3-jwt refused the token: %v\n%s", err, out)
	}
	var d decoded
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return d
}

// TestJWTsWithPyJWT: the two JWTs the client sends, for every operation, are verified and
// decoded by an independent library, and carry every claim the specification requires.
func TestJWTsWithPyJWT(t *testing.T) {
	py := python3JWT(t)
	e := mwtest.Start(t, middleware.Options{}, gateway.Config{})
	unsigned := e.Doc(t, pdfcdatest.CDA{}, false)
	signed := e.Doc(t, pdfcdatest.CDA{}, true)
	cn := e.PKI.Client.Cert.Subject.CommonName
	ops := []struct {
		op          gateway.Operation
		doc         *gateway.Document
		action, pur string
		hash        string
		hl7         bool
	}{
		{gateway.OpValidation, unsigned, "CREATE", "TREATMENT", gateway.AttachmentHash(unsigned.Data), true},
		{gateway.OpCreate, signed, "CREATE", "TREATMENT", gateway.AttachmentHash(signed.Data), true},
		{gateway.OpReplace, signed, "UPDATE", "UPDATE", gateway.AttachmentHash(signed.Data), true},
		{gateway.OpValidateAndCreate, signed, "CREATE", "TREATMENT", gateway.AttachmentHash(signed.Data), true},
		{gateway.OpDelete, &gateway.Document{Meta: signed.Meta}, "DELETE", "UPDATE", "", false},
	}
	for _, o := range ops {
		t.Run(string(o.op), func(t *testing.T) {
			bearer, sig, err := e.Client.Tokens(o.op, o.doc, "")
			if err != nil {
				t.Fatal(err)
			}
			b := decodeWithPyJWT(t, py, bearer, gateway.NationalTestURL)
			s := decodeWithPyJWT(t, py, sig, gateway.NationalTestURL)
			for _, d := range []decoded{b, s} {
				if d.Header["alg"] != "RS256" || d.Header["typ"] != "JWT" || d.CN != cn {
					t.Fatalf("header %v, x5c CN %q", d.Header, d.CN)
				}
			}
			if b.Claims["iss"] != "auth:"+cn || s.Claims["iss"] != "integrity:"+cn {
				t.Fatalf("iss %v / %v", b.Claims["iss"], s.Claims["iss"])
			}
			for _, k := range []string{"locality", "person_id", "action_id"} {
				if _, ok := b.Claims[k]; ok {
					t.Fatalf("the bearer carries %s", k)
				}
			}
			want := map[string]any{
				"sub":                     "PROVAX00X00X000Y^^^&2.16.840.1.113883.2.9.4.3.2&ISO",
				"aud":                     gateway.NationalTestURL,
				"subject_role":            "AAS",
				"subject_organization_id": "160",
				"subject_organization":    "Regione Puglia",
				"locality":                "Struttura di prova^^^^^&2.16.840.1.113883.2.9.4.1.3&ISO^^^^160101",
				"person_id":               "FSEPGL01E41A145J^^^&2.16.840.1.113883.2.9.4.3.2&ISO",
				"patient_consent":         true,
				"action_id":               o.action,
				"purpose_of_use":          o.pur,
				"subject_application_id":  "fsepuglia-test", "subject_application_vendor": "fsepuglia", "subject_application_version": "1.0",
			}
			if o.hl7 {
				want["resource_hl7_type"] = "('11502-2^^2.16.840.1.113883.6.1')"
			}
			if o.hash != "" {
				want["attachment_hash"] = o.hash
			}
			for k, v := range want {
				if s.Claims[k] != v {
					t.Errorf("claim %s = %v, want %v", k, s.Claims[k], v)
				}
			}
			if !o.hl7 {
				if _, ok := s.Claims["resource_hl7_type"]; ok {
					t.Error("resource_hl7_type sent on delete")
				}
			}
			exp, iat := s.Claims["exp"].(float64), s.Claims["iat"].(float64)
			if exp-iat != 300 || s.Claims["jti"] == b.Claims["jti"] {
				t.Errorf("exp-iat %v, jti %v/%v", exp-iat, s.Claims["jti"], b.Claims["jti"])
			}
		})
	}
}

// TestClaimsRefusedBeforeSending: a claim the gateway would refuse is refused by the client,
// naming it, and nothing reaches the simulator.
func TestClaimsRefusedBeforeSending(t *testing.T) {
	e := mwtest.Start(t, middleware.Options{}, gateway.Config{})
	signed := e.Doc(t, pdfcdatest.CDA{}, true)
	unsigned := e.Doc(t, pdfcdatest.CDA{}, false)
	claim := func(err error) string {
		var ce *gateway.ClaimError
		if errors.As(err, &ce) {
			return ce.Claim
		}
		return "not a ClaimError: " + err.Error()
	}
	t.Run("hash of the unsigned PDF", func(t *testing.T) {
		// Claims computed on the unsigned PDF, sent with the signed one.
		if err := gateway.CheckClaims(gateway.OpCreate, claimsFor(t, e, gateway.OpCreate, unsigned), gateway.Facts{Uploaded: signed.Data}); claim(err) != "attachment_hash" {
			t.Fatalf("got %v", err)
		}
	})
	base := claimsFor(t, e, gateway.OpCreate, signed)
	facts := gateway.Facts{PatientCF: signed.PatientCF(), HL7Type: signed.HL7Type(), Uploaded: signed.Data}
	cases := []struct {
		claim string
		mut   func(*gateway.Claims)
	}{
		{"iss", func(c *gateway.Claims) { c.Issuer = "auth:x" }},
		{"aud", func(c *gateway.Claims) { c.Audience = "" }},
		{"sub", func(c *gateway.Claims) { c.Subject = "PROVAX00X00X000Y" }},
		{"sub", func(c *gateway.Claims) { c.Subject = gateway.CX("PROVAX00X00X000A") }},
		{"subject_role", func(c *gateway.Claims) { c.SubjectRole = "MEDICO" }},
		{"subject_organization", func(c *gateway.Claims) { c.SubjectOrganization = "Puglia" }},
		{"subject_application_id", func(c *gateway.Claims) { c.SubjectApplicationVersion = "" }},
		{"patient_consent", func(c *gateway.Claims) { c.PatientConsent = nil }},
		{"action_id", func(c *gateway.Claims) { c.ActionID = "UPDATE" }},
		{"purpose_of_use", func(c *gateway.Claims) { c.PurposeOfUse = "UPDATE" }},
		{"person_id", func(c *gateway.Claims) { c.PersonID = gateway.CX(pdfcdatest.PatientCF2) }},
		{"locality", func(c *gateway.Claims) { c.Locality = "201123456" }},
		{"resource_hl7_type", func(c *gateway.Claims) { c.ResourceHL7Type = "('34105-7^^2.16.840.1.113883.6.1')" }},
		{"resource_hl7_type", func(c *gateway.Claims) { c.ResourceHL7Type = "11502-2" }},
		{"attachment_hash", func(c *gateway.Claims) { c.AttachmentHash = strings.ToUpper(c.AttachmentHash) }},
		{"attachment_hash", func(c *gateway.Claims) { c.AttachmentHash = gateway.AttachmentHash(unsigned.Data) }},
	}
	if err := gateway.CheckClaims(gateway.OpCreate, base, facts); err != nil {
		t.Fatalf("the base claims are refused: %v", err)
	}
	for _, tc := range cases {
		c := base
		tc.mut(&c)
		if got := claim(gateway.CheckClaims(gateway.OpCreate, c, facts)); got != tc.claim {
			t.Errorf("%s: refused as %q", tc.claim, got)
		}
	}
	// Through the client: an operator without a valid CF and an unsigned publication.
	id := e.Identity
	id.OperatorCF = "NOTACF"
	c := e.NewClientWith(t, gateway.Config{}, id)
	if _, err := c.Validate(ctx, gateway.ValidateRequest{Document: unsigned}); claim(err) != "sub" {
		t.Fatalf("invalid operator CF: %v", err)
	}
	if _, err := e.Client.Publish(ctx, gateway.PublishRequest{Document: unsigned, WorkflowInstanceID: "x"}); err == nil || !strings.Contains(err.Error(), "PAdES") {
		t.Fatalf("unsigned publication: %v", err)
	}
	if _, err := e.Client.Publish(ctx, gateway.PublishRequest{Document: signed}); err == nil || !strings.Contains(err.Error(), "workflowInstanceId") {
		t.Fatalf("publication without a validation: %v", err)
	}
	for _, op := range []gateway.Operation{gateway.OpValidation, gateway.OpCreate} {
		if n := e.Server.Accepted(op); n != 0 {
			t.Fatalf("%d %s calls reached the simulator", n, op)
		}
	}
}

func claimsFor(t *testing.T, e *mwtest.Env, op gateway.Operation, d *gateway.Document) gateway.Claims {
	t.Helper()
	c, err := e.Client.Claims(op, d, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}
