// Adds up jest's --json result files into one closing line: "N passed, N failed".
const fs = require("fs");
const path = require("path");
const dir = process.argv[2];
let passed = 0;
let failed = 0;
for (const file of fs.readdirSync(dir)) {
  const r = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"));
  passed += r.numPassedTests;
  failed += r.numFailedTests + r.numRuntimeErrorTestSuites;
}
console.log(`${passed} passed, ${failed} failed`);
