// Adds up jest's --json result files into one closing line: "N passed, N failed",
// after a short list of what failed (each test's name and the head of its message):
// CI keeps only the end of a long log, and a failure must be readable from there.
const fs = require("fs");
const path = require("path");
const dir = process.argv[2];
const HEAD_LINES = 8;
const plain = (s) => s.replace(/\u001b\[[0-9;]*m/g, "");
/** The message without jest's code frame and stack: the lines a reader needs first. */
function head(message) {
  const lines = [];
  for (const line of plain(message).split("\n")) {
    if (/^\s+at /.test(line) || /^\s*>?\s*\d+ \|/.test(line)) break;
    if (line.trim() !== "") lines.push(`    ${line.trim().slice(0, 300)}`);
    if (lines.length === HEAD_LINES) break;
  }
  return lines;
}
let passed = 0;
let failed = 0;
const failures = [];
for (const file of fs.readdirSync(dir).sort()) {
  const r = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"));
  passed += r.numPassedTests;
  failed += r.numFailedTests + r.numRuntimeErrorTestSuites;
  for (const suite of r.testResults) {
    const where = path.relative(process.cwd(), suite.name);
    const tests = suite.assertionResults.filter((a) => a.status === "failed");
    for (const a of tests) failures.push([`FAILED ${where} › ${a.fullName}`, ...head(a.failureMessages.join("\n"))]);
    // A suite that failed outside its tests (it did not load, or a hook threw).
    if (tests.length === 0 && suite.status === "failed") failures.push([`FAILED ${where}`, ...head(suite.message || "")]);
  }
}
if (failures.length > 0) console.log(["=== what failed", ...failures.flat()].join("\n"));
console.log(`${passed} passed, ${failed} failed`);
