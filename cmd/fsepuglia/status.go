package main

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/fsepuglia/fsepuglia/adapter/gateway"
)

func statusCommand(a *appEnv) *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show the events of an FSE 2.0 transaction at the middleware, by workflowInstanceId or traceID",
		ArgsUsage: "WORKFLOW_INSTANCE_ID | --trace-id TRACE_ID",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "trace-id", Usage: "look the transaction up by the traceID of one of its calls"},
		},
		Action: func(c *cli.Context) error {
			trace := c.String("trace-id")
			switch {
			case trace == "" && c.NArg() != 1:
				return usagef("status: give one workflowInstanceId or --trace-id (see fsepuglia status --help)")
			case trace != "" && c.NArg() > 0:
				return usagef("status: give either a workflowInstanceId or --trace-id, not both")
			}
			g, err := a.gateway()
			if err != nil {
				return err
			}
			var st *gateway.Status
			if trace != "" {
				st, err = g.StatusByTrace(c.Context, trace)
			} else {
				st, err = g.Status(c.Context, c.Args().First())
			}
			if err != nil {
				return err
			}
			return a.emit(st, func(w io.Writer) {
				fmt.Fprintln(w, "DATE\tEVENT\tSTATUS\tDOCUMENT\tMESSAGE")
				for _, e := range st.Events {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", e.EventDate, e.EventType, e.EventStatus, e.DocumentID, e.Message)
				}
				if len(st.Events) == 0 {
					fmt.Fprintln(w, "(no events)")
				}
			})
		},
	}
}
