// k8s_validate.js: validate Kubernetes objects against their OpenAPI
// schemas, with the kubernetes-models packages (npm).  Reads a JSON array
// of objects on stdin; prints one line per object ("ok Kind/name" or
// "invalid Kind/name: why") and exits 1 if any is invalid or unknown.
//
//   node k8s_validate.js DIR/node_modules < objects.json
//
// The packages are ES modules whose "exports" hide their folders from
// require(): each is imported by its file's URL.
"use strict";
const path = require("path");
const { pathToFileURL } = require("url");

// apiVersion to the file of the package that holds its kinds.
function moduleFor(top, apiVersion) {
  if (apiVersion.startsWith("monitoring.coreos.com/"))
    return path.join(top, "@kubernetes-models/prometheus-operator",
      apiVersion, "index.js");
  return path.join(top, "kubernetes-models", apiVersion, "index.mjs");
}

async function main() {
const top = process.argv[2];
const objects = JSON.parse(require("fs").readFileSync(0, "utf8"));
let bad = 0;
for (const obj of objects) {
  const what = obj.kind + "/" + ((obj.metadata || {}).name || "?");
  let Kind;
  try {
    Kind = (await import(pathToFileURL(moduleFor(top, obj.apiVersion))))[
      obj.kind];
  } catch (e) {
    Kind = undefined;
  }
  if (typeof Kind !== "function") {
    console.log("invalid " + what + ": no schema for " + obj.apiVersion +
      " " + obj.kind);
    bad++;
    continue;
  }
  try {
    new Kind(obj).validate();
    console.log("ok " + what);
  } catch (e) {
    console.log("invalid " + what + ": " + String(e.message || e)
      .replace(/\s+/g, " "));
    bad++;
  }
}
process.exit(bad ? 1 : 0);
}

main();
