package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
	"github.com/fsepuglia/fsepuglia/adapter/gateway"
	"github.com/fsepuglia/fsepuglia/adapter/pades"
	"github.com/fsepuglia/fsepuglia/adapter/pdfattach"
	"github.com/fsepuglia/fsepuglia/adapter/sign"
)

func TestConfigDocCoversSettings(t *testing.T) {
	doc, err := os.ReadFile("CONFIG.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		if !strings.Contains(string(doc), "`"+s.env+"`") {
			t.Errorf("CONFIG.md lacks %s", s.env)
		}
		if s.flag != "" && !strings.Contains(string(doc), "`--"+s.flag+"`") {
			t.Errorf("CONFIG.md lacks --%s", s.flag)
		}
	}
}

func TestExitCodesDocCoversConstants(t *testing.T) {
	doc, err := os.ReadFile("EXITCODES.md")
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]int{"exitOK": exitOK, "exitInternal": exitInternal, "exitUsage": exitUsage, "exitInput": exitInput,
		"exitFault": exitFault, "exitConsent": exitConsent, "exitTransport": exitTransport, "exitPartial": exitPartial}
	for name, code := range consts {
		row := fmt.Sprintf("| %d | `%s` |", code, name)
		if !strings.Contains(string(doc), row) {
			t.Errorf("EXITCODES.md lacks the row %q", row)
		}
	}
}

func TestOutputDocCoversJSONKeys(t *testing.T) {
	doc, err := os.ReadFile("OUTPUT.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{publishOutput{}, publishSummary{}, publishItemOutput{}, replaceOutput{}, deleteOutput{}, searchOutput{},
		documentOutput{}, retrieveOutput{}, consentOutput{}, consentItemOutput{}, informativaOutput{}, taccuinoSummaryOutput{},
		taccuinoItemsOutput{}, taccuinoItemOutput{}, endpointsOutput{}, endpointOutput{}, aslOutput{},
		inspectOutput{}, docmeta.Report{}, docmeta.Check{}, doctorOutput{}, doctorFinding{}, validation{}, gateway.Status{}, gateway.Event{}, middlewareResultOutput{},
		gateway.Warning{}, gateway.Problem{},
		errorOutput{}, errorBody{}, versionOutput{}, configShowOutput{}, configFileOutput{}, configSettingOutput{},
		demoOutput{}, demoDocOutput{}, demoStepOutput{},
		signOutput{}, injectOutput{}, pdfattach.Result{}, sign.Result{}, pades.Signature{}} {
		for _, key := range jsonKeys(v) {
			if !strings.Contains(string(doc), `"`+key+`"`) {
				t.Errorf("OUTPUT.md does not document key %q of %T", key, v)
			}
		}
	}
}
