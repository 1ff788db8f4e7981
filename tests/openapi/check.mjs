// Checks an OpenAPI 3.0 document: first against the OpenAPI schema itself
// (@seriousme/openapi-schema-validator, which also reports a $ref that leads nowhere),
// then every example against the schema beside it (Ajv), so that what /docs shows as a
// request or an answer is one the document allows. Exits 1 naming each problem.
//
// Usage: node check.mjs <openapi.json>   (run by check.sh, which installs the packages)
import { readFileSync } from "node:fs";

import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv from "ajv";
import addFormats from "ajv-formats";

const file = process.argv[2];
const doc = JSON.parse(readFileSync(file, "utf8"));
const failures = [];

const validator = new Validator();
const structure = await validator.validate(doc);
if (!structure.valid) {
  // Schema errors come as Ajv's objects, an unresolvable $ref as a sentence.
  for (const e of [].concat(structure.errors)) {
    failures.push(typeof e === "string" ? `not OpenAPI ${doc.openapi}: ${e}`
      : `not OpenAPI ${doc.openapi}: ${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`);
  }
}
if (!String(doc.openapi).startsWith("3.0."))
  failures.push(`expected an OpenAPI 3.0 document, got ${doc.openapi}`);

// OpenAPI 3.0 schemas are a dialect of JSON Schema: `nullable` widens a type to null,
// `example` is a note, and a $ref points into the document. Turn one into plain JSON
// Schema for Ajv, resolving references as it goes (the document has no cycles; a
// cycle is reported instead of looping).
function pointer(ref) {
  if (!ref.startsWith("#/")) throw new Error(`only local references are supported: ${ref}`);
  return ref.slice(2).split("/").map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((node, key) => {
      if (node === undefined || !(key in node)) throw new Error(`${ref} leads nowhere`);
      return node[key];
    }, doc);
}

function plain(schema, seen = []) {
  if (Array.isArray(schema)) return schema.map((s) => plain(s, seen));
  if (schema === null || typeof schema !== "object") return schema;
  if (schema.$ref) {
    if (seen.includes(schema.$ref)) throw new Error(`reference cycle through ${schema.$ref}`);
    return plain(pointer(schema.$ref), [...seen, schema.$ref]);
  }
  const out = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "example" || key === "nullable") continue;
    if (key === "properties" || key === "patternProperties") {
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v, seen)]));
    } else if (key === "default" || key === "enum") {
      out[key] = value;
    } else {
      out[key] = plain(value, seen);
    }
  }
  return schema.nullable ? { anyOf: [out, { type: "null" }] } : out;
}

const ajv = new Ajv({ strict: true, allErrors: true, strictTypes: false });
// ajv-formats knows OpenAPI's own formats too (int32, int64, byte, binary, ...).
addFormats(ajv);

function check(where, schema, example) {
  let validate;
  try {
    validate = ajv.compile(plain(schema));
  } catch (e) {
    failures.push(`${where}: the schema does not compile: ${e.message}`);
    return;
  }
  if (!validate(example)) {
    for (const e of validate.errors)
      failures.push(`${where}: the example does not fit its schema: ${e.instancePath || "/"} ${e.message}`);
  }
}

function checkMedia(where, content) {
  for (const [media, body] of Object.entries(content ?? {})) {
    if (!body.schema) continue;
    if ("example" in body) check(`${where} ${media}`, body.schema, body.example);
    for (const [name, ex] of Object.entries(body.examples ?? {}))
      check(`${where} ${media} example '${name}'`, body.schema, ex.value);
  }
}

const methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
for (const [path, item] of Object.entries(doc.paths ?? {})) {
  for (const method of methods) {
    const op = item[method];
    if (!op) continue;
    const name = `${method.toUpperCase()} ${path}`;
    for (const p of op.parameters ?? []) {
      let param;
      try {
        param = p.$ref ? pointer(p.$ref) : p;
      } catch (e) {
        failures.push(`${name}: ${e.message}`);
        continue;
      }
      if ("example" in param) check(`${name} parameter ${param.name}`, param.schema, param.example);
    }
    if (op.requestBody) checkMedia(`${name} request body`, op.requestBody.content);
    for (const [status, response] of Object.entries(op.responses ?? {}))
      checkMedia(`${name} ${status}`, response.content);
  }
}
for (const [name, schema] of Object.entries(doc.components?.schemas ?? {})) {
  if ("example" in schema) check(`schema ${name}`, schema, schema.example);
}

if (failures.length > 0) {
  console.error(`${file}: ${failures.length} problem(s)`);
  for (const f of failures) console.error(`  ${f}`);
  process.exit(1);
}
console.log(`${file}: valid OpenAPI ${doc.openapi}; every example fits its schema`);
