package main

import (
	"errors"
	"strconv"

	"github.com/fsepuglia/fsepuglia/adapter/gateway"
)

// describeGatewayError fills the JSON error object for the middleware's errors: a problem's
// type is its code (/msg/cda-match, mw/io_error, a GovWay type); claims and fields refused
// before sending name the claim (jwt.<claim>) or the request field (requestBody.<field>).
func describeGatewayError(err error, e *errorBody) {
	var (
		p  *gateway.Problem
		ce *gateway.ClaimError
		fe *gateway.FieldError
		we *gateway.WorkflowError
		ge *gateway.ConfigError
	)
	switch {
	case errors.As(err, &ce):
		e.Code, e.Field, e.Fix = "invalid-input", "jwt."+ce.Claim, ce.Fix
	case errors.As(err, &fe):
		e.Code, e.Field, e.Fix = "invalid-input", "requestBody."+fe.Field, fe.Fix
	case errors.As(err, &we):
		e.Code, e.Field, e.Fix = "workflow", "file", we.Fix
	case errors.As(err, &ge):
		e.Code, e.Field, e.Fix = "configuration", ge.Field, ge.Fix
	case errors.As(err, &p):
		e.Code = p.Type
		if e.Code == "" {
			e.Code = "http-" + strconv.Itoa(p.HTTPStatus)
		}
	}
}
