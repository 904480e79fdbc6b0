// Checks workflows and action.yml files with GitHub's own parser (@actions/workflow-parser).
// Usage: node --import ./json-hook.mjs check.mjs FILE...
// A file named action.yml/action.yaml is parsed as an action, any other as a workflow.
// Prints every error as `FILE:LINE:COL: message`; exits 1 if there was any.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from "@actions/workflow-parser";
import { parseAction } from "@actions/workflow-parser/actions/index";

const trace = new NoOperationTraceWriter();

async function check(file) {
  const content = readFileSync(file, "utf8");
  const isAction = /^action\.ya?ml$/.test(basename(file));
  const parsed = (isAction ? parseAction : parseWorkflow)({ name: file, content }, trace);
  let errors = parsed.context.errors.getErrors();
  if (!isAction && errors.length === 0 && parsed.value) {
    // Conversion finds what the schema cannot: unknown `needs`, cycles, bad job references.
    await convertWorkflowTemplate(parsed.context, parsed.value);
    errors = parsed.context.errors.getErrors();
  }
  for (const e of errors) {
    const at = e.range ? `:${e.range.start.line}:${e.range.start.column}` : "";
    console.log(`${file}${at}: ${e.rawMessage}`);
  }
  return errors.length;
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: check.mjs FILE...");
  process.exit(2);
}
let total = 0;
for (const file of files) total += await check(file);
console.log(`workflow-parser: ${files.length} file(s), ${total} error(s)`);
process.exit(total === 0 ? 0 : 1);
