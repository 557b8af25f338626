// node-soap (npm "soap") leg of the fsepuglia bench harness (main.go beside this file,
// `make bench`, which installs the package into a cache directory and sets NODE_PATH).
//
// usage: node soap_bench.js BASE_URL OPERATION N PATIENT DOC_DIR
//
// Calls OPERATION (searchDocuments, statoConsensi or addDocument) N times, sequentially, on
// a simulator in relaxed plain-HTTP mode, with a client built once from the WSDL it serves
// and a keep-alive agent. addDocument sends the N files of DOC_DIR in order. Only the loop is
// timed. Prints "RESULT <calls per second> <CPU ms per call>".
"use strict";
const fs = require("fs");
const path = require("path");
const http = require("http");
const soap = require("soap");

const [BASE, OP, NS, PATIENT, DOC_DIR] = process.argv.slice(2);
const N = parseInt(NS, 10);
const TENANT = "aslba";
const REQUESTER = {
  codiceFiscale: "PROVAX00X00X000Y", ruolo: "AAS", struttura: "160101", organizzazione: "160",
  contestoOperativo: "TREATMENT", presaInCarico: true, attivita: "CONSULTAZIONE",
};
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

async function service(name) {
  const url = `${BASE}/${TENANT}/${name}`;
  const client = await soap.createClientAsync(url + "?wsdl", { wsdl_options: { httpAgent: agent } });
  client.setEndpoint(url);
  return client;
}

async function main() {
  let call;
  if (OP === "statoConsensi") {
    const c = await service("IGestoreConsensoService");
    call = async () => {
      const [r] = await c.statoConsensiAsync({ paziente: { codiceFiscale: PATIENT }, richiedente: REQUESTER }, { httpAgent: agent });
      if (!r || !r.consenso) throw new Error("statoConsensi: no consents");
    };
  } else if (OP === "searchDocuments") {
    const c = await service("IDocumentService");
    call = async () => {
      const [r] = await c.searchDocumentsAsync({ patientId: PATIENT, offset: 0, limit: 100 }, { httpAgent: agent });
      if (!r || !(Number(r.total) > 0)) throw new Error("searchDocuments: empty");
    };
  } else if (OP === "addDocument") {
    const c = await service("IDocumentService");
    const files = fs.readdirSync(DOC_DIR).sort().slice(0, N);
    if (files.length !== N) throw new Error(`need ${N} documents in ${DOC_DIR}`);
    const bodies = files.map((f) => fs.readFileSync(path.join(DOC_DIR, f)).toString("base64"));
    call = async (i) => {
      const [r] = await c.addDocumentAsync({ document: { document: bodies[i], documentName: "Referto", status: "Approved" } }, { httpAgent: agent });
      if (!r || !r.result || !r.result.uniqueId) throw new Error("addDocument: no uniqueId " + JSON.stringify(r));
    };
  } else {
    throw new Error("unknown operation " + OP);
  }
  if (OP !== "addDocument") await call(-1); // warm the connection (not timed)
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await call(i);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(c0);
  console.log(`RESULT ${(N / wall).toFixed(3)} ${((cpu.user + cpu.system) / 1000 / N).toFixed(4)}`);
}

main().catch((e) => { console.error(e && e.stack ? e.stack : e); process.exit(1); });
