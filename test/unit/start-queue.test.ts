import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { startDomain, StartQueue } from "../../lib/vm/node-ops";
import { localRunner } from "../helpers/local-runner";

/**
 * startDomain's queue with the real flock(1) and timeout(1) of this machine;
 * only virsh is a stand-in (a script that sleeps FAKE_VIRSH_SECONDS and says
 * when it ran), since libvirt is the lab's part.
 */

let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "start-queue-"));
  fs.writeFileSync(
    path.join(dir, "virsh"),
    ['#!/bin/sh', 'echo "begin $(date +%s%N) $*" >> "$FAKE_VIRSH_LOG"', 'sleep "$FAKE_VIRSH_SECONDS"', 'echo "end $(date +%s%N)" >> "$FAKE_VIRSH_LOG"', 'exit "${FAKE_VIRSH_EXIT:-0}"'].join("\n"),
    { mode: 0o755 },
  );
  env = { ...process.env, PATH: `${dir}:${process.env.PATH}`, FAKE_VIRSH_LOG: path.join(dir, "log") };
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
beforeEach(() => fs.rmSync(path.join(dir, "log"), { force: true }));

const localRunnerWith = (extra: Record<string, string>) => localRunner({ ...env, ...extra });

const queue = (o: Partial<StartQueue> = {}): StartQueue => ({ lockFile: path.join(dir, "lock"), waitMs: 10_000, startMs: 10_000, ...o });
const spans = () =>
  fs
    .readFileSync(path.join(dir, "log"), "utf8")
    .trim()
    .split("\n")
    .map((l) => Number(l.split(" ")[1]) / 1e6);

it("runs the starts of one node one at a time", async () => {
  const r = localRunnerWith({ FAKE_VIRSH_SECONDS: "0.4" });
  await Promise.all(["a", "b", "c"].map((n) => startDomain(r, n, queue())));
  const t = spans();
  expect(t).toHaveLength(6);
  // begin, end, begin, end...: no start began before the previous one ended.
  for (let i = 1; i < t.length; i++) expect(t[i]).toBeGreaterThanOrEqual(t[i - 1]);
  expect(fs.readFileSync(path.join(dir, "log"), "utf8").match(/^begin/gm)).toHaveLength(3);
  expect(fs.readFileSync(path.join(dir, "log"), "utf8")).toMatch(/begin \d+ -q -c qemu:\/\/\/system start --domain a/);
});

it("says the node was busy when the wait runs out, and the waiting start never ran", async () => {
  const r = localRunnerWith({ FAKE_VIRSH_SECONDS: "3" });
  const first = startDomain(r, "slow", queue());
  await new Promise((res) => setTimeout(res, 500));
  await expect(startDomain(r, "late", queue({ waitMs: 1000 }))).rejects.toThrow(
    /virsh start late on local: the node was still starting other guests after 1 s \(one start at a time per node, on .*lock\)/,
  );
  await first;
  expect(fs.readFileSync(path.join(dir, "log"), "utf8")).not.toMatch(/--domain late/);
});

it("bounds the start itself apart from the wait", async () => {
  const r = localRunnerWith({ FAKE_VIRSH_SECONDS: "5" });
  await expect(startDomain(r, "stuck", queue({ startMs: 1000 }))).rejects.toThrow(/virsh start stuck on local: did not finish within 1 s \(timed out\)/);
  expect(fs.readFileSync(path.join(dir, "log"), "utf8")).not.toMatch(/^end/m);
});

it("quotes virsh's own refusal, named by the virsh command rather than the queue around it", async () => {
  const r = localRunnerWith({ FAKE_VIRSH_SECONDS: "0", FAKE_VIRSH_EXIT: "1" });
  await expect(startDomain(r, "bad", queue())).rejects.toThrow(/^virsh -q -c qemu:\/\/\/system start --domain bad on local failed \(exit 1\)/);
});
