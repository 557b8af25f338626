package gateway

import (
	"fmt"
	"slices"
	"strings"
)

// Scenario is the feeding scenario of a structure (seed 000 §4.1).
type Scenario string

// The scenarios.
const (
	// ScenarioCurrent: documents are published on the legacy regional services only.
	ScenarioCurrent Scenario = "current"
	// ScenarioIntermediate: producers validate through the middleware before signing;
	// repositories still publish on the legacy services.
	ScenarioIntermediate Scenario = "intermediate"
	// ScenarioFinal: repositories also publish through the middleware.
	ScenarioFinal Scenario = "final"
)

// DefaultSupportedTypes are the LOINC document types the national gateway validates and
// publishes (those with a schematron and a FHIR map: gateway.md §7): LAB, LDO, RSA, RAD,
// VPS, PSS, RAP, single vaccination and vaccination certificate. Other types stay on the
// legacy services in every scenario.
var DefaultSupportedTypes = []string{"11502-2", "34105-7", "11488-4", "68604-8", "59258-4", "60591-5", "11526-1", "87273-9", "82593-5"}

// ParseScenario returns the scenario named s ("" is current).
func ParseScenario(s string) (Scenario, error) {
	switch Scenario(strings.ToLower(strings.TrimSpace(s))) {
	case "", ScenarioCurrent:
		return ScenarioCurrent, nil
	case ScenarioIntermediate:
		return ScenarioIntermediate, nil
	case ScenarioFinal:
		return ScenarioFinal, nil
	}
	return "", &ConfigError{Field: "gateway.scenario", Msg: fmt.Sprintf("unknown scenario %q", s), Fix: "use current, intermediate or final"}
}

// Route is how one document is published.
type Route struct {
	// Scenario is the configured scenario.
	Scenario Scenario `json:"scenario"`
	// Supported says whether the gateway supports the document's type.
	Supported bool `json:"supported"`
	// ValidateFirst says whether the document must be validated by the middleware (before it
	// is signed): intermediate and final scenarios, supported types.
	ValidateFirst bool `json:"validate_first"`
	// Via is "middleware" or "legacy": where the publication goes.
	Via string `json:"via"`
	// Reason explains the choice in a sentence.
	Reason string `json:"reason"`
}

// Via values.
const (
	ViaLegacy     = "legacy"
	ViaMiddleware = "middleware"
)

// Supported returns the configured supported types, or DefaultSupportedTypes.
func (c Config) Supported() []string {
	if len(c.SupportedTypes) > 0 {
		return c.SupportedTypes
	}
	return DefaultSupportedTypes
}

// RouteFor decides how a document of LOINC type typeCode is published under cfg.
func RouteFor(cfg Config, typeCode string) (Route, error) {
	sc, err := ParseScenario(cfg.Scenario)
	if err != nil {
		return Route{}, err
	}
	r := Route{Scenario: sc, Supported: slices.Contains(cfg.Supported(), typeCode), Via: ViaLegacy}
	switch {
	case !r.Supported:
		r.Reason = fmt.Sprintf("type %s is not supported by the national gateway: legacy services in every scenario", typeCode)
	case sc == ScenarioCurrent:
		r.Reason = "scenario current: legacy services"
	case sc == ScenarioIntermediate:
		r.ValidateFirst = true
		r.Reason = "scenario intermediate: validated by the middleware before signing, published on the legacy services"
	default:
		r.ValidateFirst, r.Via = true, ViaMiddleware
		r.Reason = "scenario final: validated and published through the middleware"
	}
	return r, nil
}
