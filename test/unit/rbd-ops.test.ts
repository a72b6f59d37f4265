import type { CommandResult, CommandRunner } from "../../lib/transport/command-runner";
import { rbdSize, removeImage } from "../../lib/vm/rbd-ops";

/**
 * removeImage over a fake node answering as rbd does: an image a crashed
 * QEMU still watches is tried again until the watch lapses, within a bound;
 * a missing image is done; any other refusal is an error quoting rbd.
 */

const client = { id: "libvirt", pool: "libvirt-pool" };
const WATCHED = "rbd: error: image still has watchers\nThis means the image is still open or the client using it crashed. Try again after closing/unmapping it or waiting 30s for the crashed client to timeout.";

/** A node whose `rbd rm` answers each call with the next of `answers` (the last repeats). */
function node(answers: CommandResult[]): CommandRunner & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    target: "node1 (root@192.0.2.21:22)",
    calls,
    async run(argv) {
      calls.push([...argv]);
      return answers[Math.min(calls.length - 1, answers.length - 1)];
    },
  };
}
const fail = (stderr: string): CommandResult => ({ stdout: "", stderr, code: 1 });
const ok: CommandResult = { stdout: "", stderr: "", code: 0 };

describe("removeImage", () => {
  it("tries a watched image again until the crashed client's watch lapses", async () => {
    const n = node([fail(WATCHED), fail(WATCHED), ok]);
    await removeImage(n, client, "web-1-root", { watchedForMs: 5000, pauseMs: 10 });
    expect(n.calls).toHaveLength(3);
    expect(n.calls[2]).toEqual(["rbd", "--id", "libvirt", "rm", "--no-progress", "libvirt-pool/web-1-root"]);
  });

  it("gives up on an image still watched at its bound, saying so and quoting rbd", async () => {
    const n = node([fail(WATCHED)]);
    const t0 = Date.now();
    await expect(removeImage(n, client, "web-1-root", { watchedForMs: 200, pauseMs: 20 })).rejects.toThrow(
      /^rbd rm libvirt-pool\/web-1-root on node1 \(root@192\.0\.2\.21:22\): rbd: error: image still has watchers[\s\S]*\(still watched after 200 ms: a live client must close it first\)$/,
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
    expect(n.calls.length).toBeGreaterThan(2);
  });

  it("takes an image already gone as removed, at once", async () => {
    const n = node([fail("rbd: delete error: (2) No such file or directory")]);
    await removeImage(n, client, "web-1-seed", { pauseMs: 10 });
    expect(n.calls).toHaveLength(1);
  });

  it("does not retry any other refusal", async () => {
    const n = node([fail("rbd: error: image has snapshots - not removing")]);
    await expect(removeImage(n, client, "web-1-root", { pauseMs: 10 })).rejects.toThrow(/image has snapshots - not removing$/);
    expect(n.calls).toHaveLength(1);
  });
});

describe("rbdSize", () => {
  it("takes errno 2 as a missing image, and says a node is fenced instead of 'no image' when Ceph refuses it (errno 108)", async () => {
    await expect(rbdSize(node([fail("rbd: error opening image kvmcloud-tiny: (2) No such file or directory")]), client, "libvirt-pool/kvmcloud-tiny@base")).resolves.toBeUndefined();
    const fenced = "librbd::image::OpenRequest: failed to stat v2 image header: (108) Cannot send after transport endpoint shutdown\nrbd: error opening image kvmcloud-tiny: (108) Cannot send after transport endpoint shutdown";
    await expect(rbdSize(node([fail(fenced)]), client, "libvirt-pool/kvmcloud-tiny@base")).rejects.toThrow(
      /^rbd info libvirt-pool\/kvmcloud-tiny@base on node1 \(root@192\.0\.2\.21:22\): librbd[\s\S]*\(108\)[\s\S]*\(the node is fenced: its address is in Ceph's OSD blocklist/,
    );
  });
});
