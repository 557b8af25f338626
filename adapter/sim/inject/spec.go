package inject

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Kind is a way of failing a request.
type Kind string

// The failure kinds.
const (
	// KindFault answers HTTP 500 with a SOAP 1.1 fault (FSE-00503 unless Rule.FaultCode says otherwise).
	KindFault Kind = "fault"
	// Kind503 answers HTTP 503 Service Unavailable with a plain-text body and Retry-After.
	Kind503 Kind = "503"
	// KindReset closes the TCP connection with a RST (SO_LINGER 0) before any response.
	KindReset Kind = "reset"
	// KindTruncate sends valid headers with a Content-Length larger than the body written,
	// then closes the connection.
	KindTruncate Kind = "truncate"
	// KindMalformed answers HTTP 200 text/xml with XML that is not well-formed.
	KindMalformed Kind = "malformed"
)

// Kinds lists every kind, in the order used in messages.
var Kinds = []Kind{KindFault, Kind503, KindReset, KindTruncate, KindMalformed}

// AnyOperation is the Rule.Operation that matches operations without a rule of their own.
const AnyOperation = "*"

// Rule is the fault injection for one SOAP operation.
type Rule struct {
	// Operation is the SOAP operation name (e.g. addDocument) or AnyOperation.
	Operation string
	// Latency is added before every request of the operation, failed or not.
	Latency time.Duration
	// Rate is the probability in [0,1] that a request fails.
	Rate float64
	// Kinds are the failures to choose from (uniformly); empty means KindFault.
	Kinds []Kind
	// FaultCode is the FSE code of KindFault; empty means FSE-00503.
	FaultCode string
}

// SpecError is a flag value ParseSpec refuses; Part is the piece that is wrong.
type SpecError struct {
	Spec string
	Part string
	Msg  string
}

// Error implements error.
func (e *SpecError) Error() string {
	return fmt.Sprintf("inject: %q: in %q: %s", e.Spec, e.Part, e.Msg)
}

var (
	opName    = regexp.MustCompile(`^(\*|[A-Za-z_][A-Za-z0-9_.-]*)$`)
	faultCode = regexp.MustCompile(`^FSE-\d{5}$`)
)

// ParseSpec parses one rule in the flag syntax
//
//	OPERATION:key=value,key=value
//
// with keys latency (a Go duration, e.g. 200ms), rate (0..1), kinds (names joined by |:
// fault, 503, reset, truncate, malformed) and code (the FSE-NNNNN of a fault), e.g.
// "addDocument:latency=200ms,rate=0.2,kinds=reset|503". OPERATION may be * for every
// operation without a rule of its own. Errors are *SpecError naming the wrong part.
func ParseSpec(spec string) (Rule, error) {
	bad := func(part, msg string) (Rule, error) {
		return Rule{}, &SpecError{Spec: spec, Part: part, Msg: msg}
	}
	op, params, ok := strings.Cut(strings.TrimSpace(spec), ":")
	if !ok {
		return bad(spec, "missing ':' between the operation and its settings (OPERATION:key=value,...)")
	}
	if !opName.MatchString(op) {
		return bad(op, "operation must be a SOAP operation name or *")
	}
	r := Rule{Operation: op}
	if strings.TrimSpace(params) == "" {
		return bad(params, "no settings: give at least one of latency=, rate=, kinds=, code=")
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(params, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || v == "" {
			return bad(part, "expected key=value")
		}
		if seen[k] {
			return bad(part, "key "+k+" given twice")
		}
		seen[k] = true
		switch k {
		case "latency":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return bad(part, "latency must be a non-negative duration such as 200ms or 1.5s")
			}
			r.Latency = d
		case "rate":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1 {
				return bad(part, "rate must be a number between 0 and 1")
			}
			r.Rate = f
		case "kinds":
			for _, name := range strings.Split(v, "|") {
				kind, ok := parseKind(name)
				if !ok {
					return bad(part, fmt.Sprintf("unknown kind %q (known: %s)", name, kindNames()))
				}
				r.Kinds = append(r.Kinds, kind)
			}
		case "code":
			if !faultCode.MatchString(v) {
				return bad(part, "code must look like FSE-00503")
			}
			r.FaultCode = v
		default:
			return bad(part, "unknown key "+k+" (known: latency, rate, kinds, code)")
		}
	}
	if r.FaultCode != "" && !r.has(KindFault) && len(r.Kinds) > 0 {
		return bad(params, "code= applies only to kind fault, which kinds= does not include")
	}
	return r, nil
}

// ParseSpecs parses several flag values (for a repeated --inject flag); each value may also
// hold several rules separated by ';'. An operation may appear only once.
func ParseSpecs(specs []string) ([]Rule, error) {
	var out []Rule
	seen := map[string]bool{}
	var parts []string
	for _, s := range specs {
		for _, p := range strings.Split(s, ";") {
			if strings.TrimSpace(p) != "" {
				parts = append(parts, p)
			}
		}
	}
	for _, s := range parts {
		r, err := ParseSpec(s)
		if err != nil {
			return nil, err
		}
		if seen[r.Operation] {
			return nil, &SpecError{Spec: s, Part: r.Operation, Msg: "operation configured twice"}
		}
		seen[r.Operation] = true
		out = append(out, r)
	}
	return out, nil
}

func parseKind(s string) (Kind, bool) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, true
		}
	}
	return "", false
}

func kindNames() string {
	n := make([]string, len(Kinds))
	for i, k := range Kinds {
		n[i] = string(k)
	}
	return strings.Join(n, ", ")
}

func (r Rule) has(k Kind) bool {
	for _, x := range r.Kinds {
		if x == k {
			return true
		}
	}
	return false
}
