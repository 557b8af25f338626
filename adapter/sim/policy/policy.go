// Package policy holds the simulator's consultation rules as pure functions: given a
// patient's consents, a document's few relevant fields and the requesting structure, it
// decides whether the document may be seen and why not.
//
// Rules (domain.md §5, §6):
//   - C4 (opposition) true hides everything: ReasonOpposition.
//   - C2 (consultation) false hides everything: ReasonNoC2.
//   - C3 (pregresso) false hides documents produced before 2020-05-19 00:00 Europe/Rome
//     (DL 34/2020): ReasonNoC3. The date is CreationTime, or ServiceStart when CreationTime
//     is zero. A document produced exactly at the cutoff is not pregresso.
//   - Event code P99 (obscured) makes a document visible only to the structure that
//     published it: ReasonObscured. P00 (de-obscured) anywhere in the event codes clears
//     P99. P97/P98 (obscured to the parent / to the patient) concern citizen access, which
//     the simulator does not serve: they are ignored.
//
// C1 plays no part: since DL 34/2020 feeding needs no consent.
package policy

import (
	"slices"
	"time"
)

// PregressoCutoff is the instant from which documents are no longer "pregresso":
// 2020-05-19 00:00 in Italy (CEST, UTC+2), when DL 34/2020 took effect.
var PregressoCutoff = time.Date(2020, 5, 19, 0, 0, 0, 0, time.FixedZone("CEST", 2*60*60))

// Reason says why a consultation was refused; ReasonOK when it was not.
type Reason string

// The reasons a Decision can carry.
const (
	ReasonOK         Reason = "OK"
	ReasonOpposition Reason = "C4_OPPOSITION"
	ReasonNoC2       Reason = "C2_MISSING"
	ReasonNoC3       Reason = "C3_MISSING"
	ReasonObscured   Reason = "P99_OBSCURED"
)

// Fault codes a refusal maps to (the project's table in the README/issue).
const (
	// FaultConsent is returned for every consent refusal.
	FaultConsent = "FSE-00451"
	// FaultNotFound is returned for an obscured document asked for by another structure:
	// obscuring hides the document's existence, so the answer is "not found", not "refused".
	FaultNotFound = "FSE-00404"
)

// Consents are a patient's current consent values by code ("C1" … "C8"); missing codes
// are false.
type Consents map[string]bool

// Document is what the rules need to know about a document.
type Document struct {
	CreationTime time.Time
	ServiceStart time.Time
	EventCodes   []string
	PublishedBy  string // structure code of the publisher
}

// Decision is the outcome of a rule check.
type Decision struct {
	Allowed bool
	Reason  Reason
}

// FaultCode returns the FSE fault code a refusal maps to, or "" when allowed.
func (d Decision) FaultCode() string {
	switch {
	case d.Allowed:
		return ""
	case d.Reason == ReasonObscured:
		return FaultNotFound
	default:
		return FaultConsent
	}
}

// Message is the Italian/English text for the fault string of a refusal.
func (d Decision) Message() string {
	switch d.Reason {
	case ReasonOpposition:
		return "il paziente ha esercitato il diritto di opposizione (C4)"
	case ReasonNoC2:
		return "consenso alla consultazione (C2) assente"
	case ReasonNoC3:
		return "consenso al pregresso (C3) assente"
	case ReasonObscured:
		return "Documento non trovato"
	}
	return ""
}

var allow = Decision{Allowed: true, Reason: ReasonOK}

// CanConsult applies the patient-level rules (C4, then C2). A search is refused as a whole
// when this refuses.
func CanConsult(c Consents) Decision {
	if c["C4"] {
		return Decision{Reason: ReasonOpposition}
	}
	if !c["C2"] {
		return Decision{Reason: ReasonNoC2}
	}
	return allow
}

// Pregresso reports whether d was produced before PregressoCutoff.
func Pregresso(d Document) bool {
	t := d.CreationTime
	if t.IsZero() {
		t = d.ServiceStart
	}
	return !t.IsZero() && t.Before(PregressoCutoff)
}

// Obscured reports whether d carries P99 without a P00 clearing it.
func Obscured(d Document) bool {
	return slices.Contains(d.EventCodes, "P99") && !slices.Contains(d.EventCodes, "P00")
}

// CanSee applies every rule to one document requested by requesterStructure.
// The publisher of an obscured document still needs the patient's consents.
func CanSee(c Consents, d Document, requesterStructure string) Decision {
	if dec := CanConsult(c); !dec.Allowed {
		return dec
	}
	if Pregresso(d) && !c["C3"] {
		return Decision{Reason: ReasonNoC3}
	}
	if Obscured(d) && (requesterStructure == "" || requesterStructure != d.PublishedBy) {
		return Decision{Reason: ReasonObscured}
	}
	return allow
}

// Visible returns the indexes of docs that requesterStructure may see. Search results are
// filtered with it after CanConsult has allowed the search: hidden documents are left out
// silently rather than refused.
func Visible(c Consents, docs []Document, requesterStructure string) []int {
	var out []int
	for i, d := range docs {
		if CanSee(c, d, requesterStructure).Allowed {
			out = append(out, i)
		}
	}
	return out
}
