// Parse and validate an AsyncAPI document with the reference parser (@asyncapi/parser).
// Usage: node validate.mjs <file>. Prints a JSON report; exits 1 when the document has errors.
import { readFileSync } from "node:fs";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

const file = process.argv[2];
const parser = new Parser();
const { document, diagnostics } = await parser.parse(readFileSync(file, "utf8"), { source: file });
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
const report = {
  valid: Boolean(document) && errors.length === 0,
  version: document ? document.version() : null,
  channels: document ? document.channels().all().map((c) => c.address()) : [],
  messages: document ? document.components().messages().all().map((m) => m.id()) : [],
  errors: errors.map((d) => ({ message: d.message, path: d.path.join(".") })),
  warnings: diagnostics
    .filter((d) => d.severity === DiagnosticSeverity.Warning)
    .map((d) => ({ message: d.message, path: d.path.join(".") })),
};
console.log(JSON.stringify(report, null, 2));
process.exit(report.valid ? 0 : 1);
