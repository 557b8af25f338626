package main

import (
	"strings"

	"github.com/fsepuglia/fsepuglia/adapter/gateway"
)

// serviceMiddleware is the service name of the FSE 2.0 middleware in `endpoints`.
const serviceMiddleware = "middleware"

// middlewareEndpoints adds the middleware's base URL: for the configured environment, or
// with all for every environment that has one (production's is not published yet).
func (a *appEnv) middlewareEndpoints(out *endpointsOutput, all bool) {
	envs := []string{strings.ToLower(strings.TrimSpace(a.cfg.Environment))}
	if all {
		envs = []string{"test", "prod", "local"}
	}
	for _, env := range envs {
		g := a.cfg.Gateway
		if all && env != strings.ToLower(strings.TrimSpace(a.cfg.Environment)) {
			g.BaseURL = "" // overrides belong to the configured environment
		}
		base, overridden, err := gateway.ResolveBaseURL(g, env)
		if err != nil {
			continue // no middleware in this environment (production's is not published yet)
		}
		out.Endpoints = append(out.Endpoints, endpointOutput{Environment: env, Service: serviceMiddleware, URL: base, Overridden: overridden})
	}
}
