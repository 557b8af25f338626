package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/fsepuglia/fsepuglia/adapter/endpoint"
	"github.com/urfave/cli/v2"
)

// endpointOutput is one resolved service URL in the JSON of `endpoints` (OUTPUT.md).
type endpointOutput struct {
	Environment string `json:"environment"`
	ASL         string `json:"asl"`
	Tenant      string `json:"tenant"`
	Service     string `json:"service"`
	URL         string `json:"url"`
	Overridden  bool   `json:"overridden"`
}

// aslOutput is one ASL of the table in the JSON of `endpoints --all`.
type aslOutput struct {
	Name         string   `json:"name"`
	Sigla        string   `json:"sigla"`
	FullName     string   `json:"full_name"`
	NationalCode string   `json:"national_code"`
	CodeVerified bool     `json:"code_verified"`
	Aliases      []string `json:"aliases"`
}

// endpointsOutput is the JSON of `endpoints`.
type endpointsOutput struct {
	Endpoints []endpointOutput `json:"endpoints"`
	Warnings  []string         `json:"warnings"`
	ASLs      []aslOutput      `json:"asls"`
}

func endpointsCommand(a *appEnv) *cli.Command {
	return &cli.Command{
		Name:  "endpoints",
		Usage: "resolve the service URLs of the configured environment and ASL, or list them all",
		Description: "Without --all: the three services for --env/--asl (and base_url/service_urls overrides).\n" +
			"With --all: every environment × ASL × service, and the ASL table (local only when a base URL is set).\n" +
			"The FSE 2.0 middleware (gateway.base_url) is listed as service \"middleware\" (asl and tenant empty).",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Usage: "list every environment × ASL × service"},
			&cli.StringFlag{Name: "service", Usage: "only this service (IDocumentService, IGestoreConsensoService, ITaccuinoService, middleware)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("endpoints takes no arguments (got %q): use --env, --asl or --all", c.Args().First())
			}
			services := endpoint.Services()
			middleware := true
			if s := c.String("service"); s == serviceMiddleware {
				services = nil
			} else if s != "" {
				middleware = false
				svc, err := endpoint.ParseService(s)
				if err != nil {
					return fmt.Errorf("--service: %w", err)
				}
				services = []endpoint.Service{svc}
			}
			out := endpointsOutput{Endpoints: []endpointOutput{}, Warnings: []string{}, ASLs: []aslOutput{}}
			if c.Bool("all") {
				if err := a.allEndpoints(&out, services); err != nil {
					return err
				}
			} else {
				if a.cfg.Environment == "" {
					return usagef("endpoints needs an environment: pass --env test|prod|local (or set FSEPUGLIA_ENV), or use --all")
				}
				cfg := a.cfg.Endpoints()
				for i, svc := range services {
					ep, warns, err := endpoint.Resolve(cfg, svc)
					if err != nil {
						return fmt.Errorf("resolving %s: %w", svc, err)
					}
					if i == 0 {
						for _, w := range warns {
							out.Warnings = append(out.Warnings, w.String())
						}
					}
					out.Endpoints = append(out.Endpoints, toEndpointOutput(ep))
				}
			}
			if middleware {
				a.middlewareEndpoints(&out, c.Bool("all"))
			}
			for _, w := range out.Warnings {
				fmt.Fprintf(a.stderr, "warning: %s\n", w)
			}
			return a.emit(out, func(w io.Writer) {
				fmt.Fprintln(w, "ENV\tASL\tSERVICE\tURL")
				for _, e := range out.Endpoints {
					mark := ""
					if e.Overridden {
						mark = "  (override)"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s%s\n", e.Environment, e.ASL, e.Service, e.URL, mark)
				}
				if len(out.ASLs) > 0 {
					fmt.Fprintln(w, "\nASL\tSIGLA\tNATIONAL CODE\tALIASES")
					for _, l := range out.ASLs {
						code := l.NationalCode
						if !l.CodeVerified {
							code += " (unverified)"
						}
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", l.Name, l.Sigla, code, strings.Join(l.Aliases, " "))
					}
				}
			})
		},
	}
}

func toEndpointOutput(ep endpoint.Endpoint) endpointOutput {
	return endpointOutput{Environment: string(ep.Environment), ASL: ep.ASL, Tenant: ep.Tenant, Service: string(ep.Service), URL: ep.URL, Overridden: ep.Overridden}
}

// allEndpoints fills out with every environment × tenant × service. Overrides of the
// configuration are ignored here (they belong to one environment), except that the local
// environment is listed only with the configured base URL.
func (a *appEnv) allEndpoints(out *endpointsOutput, services []endpoint.Service) error {
	for _, l := range endpoint.List() {
		aliases := l.Aliases
		if aliases == nil {
			aliases = []string{}
		}
		out.ASLs = append(out.ASLs, aslOutput{Name: l.Name, Sigla: l.Sigla, FullName: l.FullName, NationalCode: l.NationalCode, CodeVerified: l.CodeVerified, Aliases: aliases})
	}
	for _, env := range endpoint.Environments() {
		cfg := endpoint.Config{Environment: string(env), BaseURLs: a.cfg.BaseURLs}
		tenants := endpoint.ASLNames()
		switch env {
		case endpoint.Test:
			tenants = []string{endpoint.TestTenant}
		case endpoint.Local:
			cfg.BaseURL = a.cfg.BaseURL
			if cfg.BaseURL == "" && a.cfg.BaseURLs["local"] == "" {
				continue
			}
			tenants = append([]string{endpoint.TestTenant}, tenants...)
		}
		for _, t := range tenants {
			cfg.ASL = t
			for _, svc := range services {
				ep, _, err := endpoint.Resolve(cfg, svc)
				if err != nil {
					return fmt.Errorf("resolving %s %s %s: %w", env, t, svc, err)
				}
				out.Endpoints = append(out.Endpoints, toEndpointOutput(ep))
			}
		}
	}
	return nil
}
