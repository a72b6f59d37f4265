import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { serializeProvider, startProviderHost } from "../helpers/provider-host";

/**
 * The VirtualMachine provider text that `pulumi up` stores in state, run by
 * Pulumi's own dynamic-provider host: it finds the implementation by package
 * name where the host runs, so the code of the day serves VMs made before it
 * (refresh and destroy included), and state stays small.
 */
jest.setTimeout(90_000);

let shim: string;
beforeAll(() => {
  shim = serializeProvider("VirtualMachine");
});

describe("the serialized VirtualMachine shim", () => {
  it("runs the project's implementation: check refuses bad input naming the field", async () => {
    const host = await startProviderHost(shim);
    try {
      const r = await host.check({}, { name: "Bad_Name", vcpus: 0, memoryMiB: 64, diskGiB: 1, image: "p/i@s", cloud: {} });
      expect(r.failures.length).toBeGreaterThan(0);
      expect(r.failures.map((f) => `${f.property}: ${f.reason}`).join("\n")).toMatch(/name|vcpus/);
    } finally {
      await host.stop();
    }
  });

  it("calls whatever implementation is installed now for refresh and destroy of a VM in old state", async () => {
    // A project whose implementation changed after the VM was made: same state text, new code.
    const project = fs.mkdtempSync(path.join(os.tmpdir(), "kvmcloud-shim-"));
    const pkg = path.join(project, "node_modules/@kvm-cloud/dynamic-providers");
    fs.mkdirSync(pkg, { recursive: true });
    const calls = path.join(project, "calls.log");
    fs.writeFileSync(
      path.join(pkg, "virtual-machine-provider.js"),
      `const fs = require("fs");
exports.virtualMachineProvider = {
  async read(id, props) { fs.appendFileSync(${JSON.stringify(calls)}, "read " + id + "\\n"); return { id, props: { ...props, node: "node2" } }; },
  async delete(id) { fs.appendFileSync(${JSON.stringify(calls)}, "delete " + id + "\\n"); },
};
`,
    );
    // ts-node is looked for only for TypeScript; a registered .js needs none, but keep the host's resolution honest.
    fs.symlinkSync(path.resolve(__dirname, "../../node_modules/ts-node"), path.join(project, "node_modules/ts-node"));
    const host = await startProviderHost(shim, project);
    try {
      const read = await host.read("web-1", { name: "web-1", node: "node1" });
      expect(read.properties.node).toBe("node2");
      await host.delete("web-1", { name: "web-1", node: "node2" });
      expect(fs.readFileSync(calls, "utf8")).toBe("read web-1\ndelete web-1\n");
    } finally {
      await host.stop();
      fs.rmSync(project, { recursive: true, force: true });
    }
  });
});
