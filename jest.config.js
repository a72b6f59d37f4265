// Projects split by what they need: `unit` runs anywhere without root; `mocks`
// drives components under Pulumi's mocks; `lab` needs root and builds the lab;
// `lab-client` runs inside the lab's manager namespace; `lab-down` last (see
// test/run-all.sh).
const base = {
  preset: "ts-jest",
  testEnvironment: "node",
  transform: { "^.+\\.ts$": ["ts-jest", {}] },
};
module.exports = {
  projects: [
    { ...base, displayName: "unit", testMatch: ["<rootDir>/test/unit/**/*.test.ts"] },
    { ...base, displayName: "mocks", testMatch: ["<rootDir>/test/mocks/**/*.test.ts"], setupFilesAfterEnv: ["<rootDir>/test/helpers/mocks-timeout.ts"] },
    { ...base, displayName: "lab", testMatch: ["<rootDir>/test/lab/**/*.test.ts"] },
    { ...base, displayName: "lab-client", testMatch: ["<rootDir>/test/lab-client/**/*.test.ts"] },
    { ...base, displayName: "lab-down", testMatch: ["<rootDir>/test/lab-down/**/*.test.ts"] },
  ],
};
