import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { readLabDescription } from "../../lab/description";
import { run } from "../../lab/exec";
import { BaseImageOptions, parseBaseImageSize, renderBaseImageImportScript, renderBaseImageRemoveScript } from "../../lib/vm/base-image-script";
import { assertInManagerNamespace, rbdOnNode, ssh } from "../helpers/lab-client";

/**
 * The BaseImage component's scripts run for real on a lab KVM node against the
 * lab's Ceph, as client.libvirt: a qcow2 image fetched over HTTP (checksum
 * checked) and a raw file on the node, imported, snapshotted, protected; a
 * second run fetches nothing; a bad checksum leaves no image; delete renames
 * an image that has clones aside (they keep working), a new import takes the
 * name, and a later import removes the old one once no clone is left.
 */

jest.setTimeout(5 * 60_000);

const d = readLabDescription();
const node = d.nodes[0];
const tag = crypto.randomBytes(3).toString("hex");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "h4b-img-"));
const pool = d.ceph.pool;
const qcowImage = `h4b-img-${tag}-q`;
const rawImage = `h4b-img-${tag}-r`;
const badImage = `h4b-img-${tag}-bad`;
const clone = `h4b-img-${tag}-clone`;
const rawPath = `/tmp/h4b-img-${tag}.raw`;
const QCOW_SIZE = 16 * 1024 * 1024;
const RAW_SIZE = 4 * 1024 * 1024;

let server: http.Server | undefined;
let hits = 0;
let url = "";
let qcowSha = "";

function script(text: string, allowFail = false) {
  return ssh(d, node.sshHost, ["bash", "-c", text], { allowFail, timeoutMs: 120_000 });
}

function options(o: Partial<BaseImageOptions>): BaseImageOptions {
  return { pool, image: qcowImage, snapshot: "base", source: url, format: "qcow2", cephClient: d.ceph.clientName, ...o };
}

async function images(): Promise<string[]> {
  return (await rbdOnNode(d, node.name, ["ls", pool])).stdout.split("\n").filter((l) => l.startsWith(`h4b-img-${tag}`));
}

beforeAll(async () => {
  assertInManagerNamespace(d);
  const qcow = path.join(tmp, "image.qcow2");
  await run(["qemu-img", "create", "-q", "-f", "qcow2", qcow, String(QCOW_SIZE)]);
  qcowSha = crypto.createHash("sha256").update(fs.readFileSync(qcow)).digest("hex");
  server = http.createServer((_req, res) => {
    hits++;
    fs.createReadStream(qcow).pipe(res);
  });
  await new Promise<void>((r) => server!.listen(0, d.hosts.mgr.address, () => r()));
  url = `http://${d.hosts.mgr.address}:${(server.address() as net.AddressInfo).port}/image.qcow2`;
  await ssh(d, node.sshHost, ["dd", "if=/dev/urandom", `of=${rawPath}`, "bs=1M", "count=4", "status=none"]);
});

afterAll(async () => {
  server?.close();
  await rbdOnNode(d, node.name, ["rm", "--no-progress", `${pool}/${clone}`], { allowFail: true });
  // Retired copies too: every image of this run's tag.
  for (const image of new Set([qcowImage, rawImage, badImage, ...(await images().catch(() => []))])) {
    await rbdOnNode(d, node.name, ["snap", "unprotect", `${pool}/${image}@base`], { allowFail: true });
    await rbdOnNode(d, node.name, ["snap", "purge", "--no-progress", `${pool}/${image}`], { allowFail: true });
    await rbdOnNode(d, node.name, ["rm", "--no-progress", `${pool}/${image}`], { allowFail: true });
    await rbdOnNode(d, node.name, ["rm", "--no-progress", `${pool}/${image}.kvmcloud-import`], { allowFail: true });
  }
  await ssh(d, node.sshHost, ["rm", "-f", rawPath], { allowFail: true });
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("the base image scripts on a lab node", () => {
  it("imports a qcow2 image from a URL as a protected snapshot and prints its size", async () => {
    const r = await script(renderBaseImageImportScript(options({ sha256: qcowSha })));
    expect(parseBaseImageSize(r.stdout)).toBe(QCOW_SIZE);
    expect(hits).toBe(1);
    const info = await rbdOnNode(d, node.name, ["info", `${pool}/${qcowImage}@base`]);
    expect(info.stdout).toContain("protected: True");
    expect(await images()).toEqual([qcowImage]);
  });

  it("changes nothing and fetches nothing when run again", async () => {
    const r = await script(renderBaseImageImportScript(options({ sha256: qcowSha })));
    expect(parseBaseImageSize(r.stdout)).toBe(QCOW_SIZE);
    expect(hits).toBe(1);
  });

  it("refuses a source whose checksum differs, leaving no image behind", async () => {
    const r = await script(renderBaseImageImportScript(options({ image: badImage, sha256: "0".repeat(64) })), true);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/FAILED|did NOT match/);
    expect(await images()).toEqual([qcowImage]);
  });

  it("imports a raw file that is on the node", async () => {
    const r = await script(renderBaseImageImportScript(options({ image: rawImage, source: rawPath, format: "raw" })));
    expect(parseBaseImageSize(r.stdout)).toBe(RAW_SIZE);
    const remove = await script(renderBaseImageRemoveScript(options({ image: rawImage, source: rawPath, format: "raw" })));
    expect(remove.code).toBe(0);
    expect(await images()).toEqual([qcowImage]);
  });

  it("keeps an image that has clones on delete, renamed aside so a replacement can take the name, and the next import removes it once no clone is left", async () => {
    await rbdOnNode(d, node.name, ["clone", `${pool}/${qcowImage}@base`, `${pool}/${clone}`]);
    const kept = await script(renderBaseImageRemoveScript(options({})));
    expect(kept.code).toBe(0);
    expect(kept.stderr).toMatch(new RegExp(`kept it as ${pool}/${qcowImage}\\.retired-\\d+`));
    const aside = (await images()).filter((i) => i.startsWith(`${qcowImage}.retired-`));
    expect(aside).toHaveLength(1);
    expect(await images()).not.toContain(qcowImage);
    // The clone still reads from it: clones name their parent by id.
    expect((await rbdOnNode(d, node.name, ["info", `${pool}/${clone}`])).stdout).toContain(`parent: ${pool}/${aside[0]}@base`);
    const fetched = hits;
    const again = await script(renderBaseImageImportScript(options({})));
    expect(hits).toBe(fetched + 1);
    expect(parseBaseImageSize(again.stdout)).toBe(QCOW_SIZE);
    // Still cloned from: kept.
    expect(await images()).toEqual(expect.arrayContaining([qcowImage, aside[0], clone]));
    await rbdOnNode(d, node.name, ["rm", "--no-progress", `${pool}/${clone}`]);
    const cleaned = await script(renderBaseImageImportScript(options({})));
    expect(cleaned.stderr).toContain(`removed the retired base image ${pool}/${aside[0]}`);
    expect(await images()).toEqual([qcowImage]);
    await script(renderBaseImageRemoveScript(options({})));
    expect(await images()).toEqual([]);
    // Delete of what is already gone is a no-op (a retried destroy).
    expect((await script(renderBaseImageRemoveScript(options({})))).code).toBe(0);
  });
});
