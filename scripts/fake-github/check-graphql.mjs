// Checks gantry's GraphQL query and the fake GitHub's answers to it against GitHub's published
// GraphQL schema (npm @octokit/graphql-schema, pinned in package.json).
//
//   node check-graphql.mjs QUERY_FILE < answers.json      answers: [{variables, response}, …]
//
// The query must validate against the schema. Each answer is then executed against the schema
// with the answer's own `data` as the root value: a field the query did not ask for, a value of the
// wrong type (an unknown enum value, a null in a non-null field) or a missing field shows up as an
// execution error or a difference from the answer.
import { readFileSync } from "node:fs";
import { buildSchema, parse, validate, execute } from "graphql";
import { schema as github } from "@octokit/graphql-schema";
import { isDeepStrictEqual } from "node:util";

// The published SDL repeats two enterprise fields; they are not near our query.
const schema = buildSchema(github.idl, { assumeValidSDL: true });
const document = parse(readFileSync(process.argv[2], "utf8"));
const problems = validate(schema, document).map((e) => `query: ${e.message}`);
const answers = JSON.parse(readFileSync(0, "utf8"));
for (const [i, { variables, response }] of answers.entries()) {
  const result = execute({ schema, document, rootValue: response.data, variableValues: variables });
  for (const e of result.errors ?? []) problems.push(`answer ${i}: ${e.message} (at ${e.path?.join(".")})`);
  const normal = JSON.parse(JSON.stringify(result.data ?? null));
  if (!isDeepStrictEqual(normal, response.data)) problems.push(`answer ${i}: differs from what the schema makes of it`);
}
for (const p of problems) console.error(`check-graphql: ${p}`);
console.log(`check-graphql: query valid against GitHub's schema: ${problems.some((p) => p.startsWith("query")) ? "no" : "yes"}; ${answers.length} answers executed; ${problems.length} problems`);
process.exit(problems.length ? 1 : 0);
