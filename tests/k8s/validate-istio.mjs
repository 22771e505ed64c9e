// Validates Istio objects against the schemas generated from Istio's CRDs
// (@kubernetes-models/istio). Input: a JSON array of objects, in the file given or on stdin.
// Prints "OK kind name" or "FAIL kind name: reason" per object; exits 1 if any failed,
// including objects whose apiVersion/kind the package has no schema for.
import fs from "node:fs";

const docs = JSON.parse(fs.readFileSync(process.argv[2] ?? 0, "utf8"));
let failed = 0;
for (const d of docs) {
  const label = `${d.kind} ${d.metadata?.name}`;
  try {
    const mod = await import(`@kubernetes-models/istio/${d.apiVersion}/${d.kind}`);
    new mod[d.kind](d).validate();
    console.log("OK", label);
  } catch (e) {
    failed++;
    console.log("FAIL", `${label}:`, e.message.split("\n").slice(0, 3).join(" "));
  }
}
process.exit(failed ? 1 : 0);
