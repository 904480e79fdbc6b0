// Node 20 refuses bare JSON imports (`import Schema from "./x.json"`) without an import attribute;
// @actions/workflow-parser has two. This load hook serves *.json as `export default <json>`.
// Use: node --import ./json-hook.mjs check.mjs …
import { readFile } from "node:fs/promises";
import { register } from "node:module";
import { isMainThread } from "node:worker_threads";

if (isMainThread) register(import.meta.url);

export async function load(url, context, nextLoad) {
  if (url.startsWith("file:") && url.endsWith(".json")) {
    const json = await readFile(new URL(url), "utf8");
    return { format: "module", source: `export default ${json};`, shortCircuit: true };
  }
  return nextLoad(url, context);
}
