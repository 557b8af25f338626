package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// examples are the "Examples:" of each command's help page, by command path. They are kept
// here, in one place, for every command; TestHelpExamples runs each line through the
// command line parser, so an example cannot name a flag or command that does not exist.
// The patient is a published test identity; ID stands for a document's uniqueId.
var examples = map[string][]string{
	"endpoints": {
		"fsepuglia endpoints --env test",
		"fsepuglia endpoints --env prod --asl aslta --format json",
		"fsepuglia endpoints --all",
	},
	"publish": {
		"fsepuglia publish referto.pdf                      # metadata from the CDA inside the PDF",
		"fsepuglia publish --dir ./outgoing --concurrency 4",
		"fsepuglia publish --resume                         # finish a batch that was interrupted",
		"fsepuglia publish --dir ./outgoing --format json > result.json",
		"fsepuglia publish --queue postgres://fsepuglia@db/fsepuglia --enqueue-only --dir ./outgoing  # serve sends them",
	},
	"serve": {
		"fsepuglia serve --watch /var/spool/fsepuglia                 # API on 127.0.0.1:8470, embedded queue",
		"fsepuglia serve --queue postgres://fsepuglia@db/fsepuglia --instance a1",
		"fsepuglia serve --listen 0.0.0.0:8470 --token-file /etc/fsepuglia/token",
	},
	"queue list": {
		"fsepuglia queue list --state failed,in-doubt                 # the embedded queue of serve (stopped)",
		"fsepuglia queue list --queue postgres://fsepuglia@db/fsepuglia --format json",
	},
	"replace": {
		"fsepuglia replace 2.16.840.1.113883.2.9.2.160.4.4^OLD nuovo-referto.pdf",
	},
	"delete": {
		"fsepuglia delete 2.16.840.1.113883.2.9.2.160.4.4^ID --patient FSEPGL01E41A145J        # asks on a terminal",
		"fsepuglia delete 2.16.840.1.113883.2.9.2.160.4.4^ID --patient FSEPGL01E41A145J --yes  # scripts",
	},
	"search": {
		"fsepuglia search --patient FSEPGL01E41A145J",
		"fsepuglia search --patient FSEPGL01E41A145J --from 2026-01-01 --type 11502-2 --format json",
	},
	"retrieve": {
		"fsepuglia retrieve 2.16.840.1.113883.2.9.2.160.4.4^ID --patient FSEPGL01E41A145J -o referto.pdf",
		"fsepuglia retrieve 2.16.840.1.113883.2.9.2.160.4.4^ID --patient FSEPGL01E41A145J -o - | pdfinfo -",
	},
	"consent status": {
		"fsepuglia consent status --patient FSEPGL01E41A145J",
		"fsepuglia consent status --patient FSEPGL01E41A145J --format json",
	},
	"consent set": {
		"fsepuglia consent set --patient FSEPGL01E41A145J C2=1 C3=1",
		"fsepuglia consent set --patient FSEPGL01E41A145J --c2=true --c3=false",
		"fsepuglia consent set --patient FSEPGL01E41A145J C2=1 --on-behalf-of FSELBR01C41A145S --representative-role TUT",
	},
	"consent revoke": {
		"fsepuglia consent revoke --patient FSEPGL01E41A145J C3           # asks on a terminal",
		"fsepuglia consent revoke --patient FSEPGL01E41A145J C2 C3 --yes",
	},
	"consent informativa": {
		"fsepuglia consent informativa -o informativa.pdf",
	},
	"taccuino summary": {
		"fsepuglia taccuino summary --patient FSEPGL01E41A145J",
	},
	"taccuino rilevazioni": {
		"fsepuglia taccuino rilevazioni --patient FSEPGL01E41A145J --from 2025-01-01 --limit 10",
	},
	"taccuino farmaci":   {"fsepuglia taccuino farmaci --patient FSEPGL01E41A145J --format json"},
	"taccuino eventi":    {"fsepuglia taccuino eventi --patient FSEPGL01E41A145J"},
	"taccuino sintomi":   {"fsepuglia taccuino sintomi --patient FSEPGL01E41A145J"},
	"taccuino documenti": {"fsepuglia taccuino documenti --patient FSEPGL01E41A145J"},
	"sim": {
		"fsepuglia sim --data-dir /tmp/fsesim --addr 127.0.0.1:18443",
		"fsepuglia sim --relaxed --plain-http                  # for other SOAP stacks",
		"fsepuglia sim --inject addDocument:latency=200ms,rate=0.2,kinds=reset",
	},
	"demo": {
		"fsepuglia demo",
		"fsepuglia demo --keep",
		"fsepuglia demo --format json",
	},
	"inspect": {
		"fsepuglia inspect referto.pdf",
		"fsepuglia inspect --strict --require-signature --format json *.pdf",
	},
	"validate": {
		"fsepuglia validate referto.pdf                     # before signing: the middleware keeps it for the publication",
		"fsepuglia validate --activity VERIFICA --format json *.pdf",
		"fsepuglia validate --action UPDATE nuova-versione.pdf",
	},
	"status": {
		"fsepuglia status '2.16.840.1.113883.2.9.2.160.4.4.…^^^^urn:ihe:iti:xdw:2013:workflowInstanceId'",
		"fsepuglia status --trace-id 4fbd50b4e0d79e99 --format json",
	},
	"inject": {
		"fsepuglia inject referto.signed.xml --pdf referto.pdf -o referto-con-cda.pdf",
	},
	"sign": {
		"fsepuglia sign --cda referto.xml                          # XAdES-BES: referto.signed.xml",
		"fsepuglia sign --pdf referto-con-cda.pdf --pkcs12 operatore.p12 -o referto-firmato.pdf",
	},
	"doctor": {
		"fsepuglia doctor",
		"fsepuglia --config ~/.config/fsepuglia/config.json doctor --format json",
	},
}

// addExamples appends the examples of cmd (and of its subcommands) to their descriptions.
func addExamples(cmd *cli.Command, parent string) {
	path := strings.TrimSpace(parent + " " + cmd.Name)
	if ex := examples[path]; len(ex) > 0 && !strings.Contains(cmd.Description, "Examples:") {
		if cmd.Description != "" {
			cmd.Description += "\n\n"
		}
		cmd.Description += "Examples:\n  " + strings.Join(ex, "\n  ")
	}
	for _, sub := range cmd.Subcommands {
		addExamples(sub, path)
	}
}
