import * as pulumi from "@pulumi/pulumi";
import { cloudStdout, installComponentMocks } from "./component-mocks";
import { stackFileConfig } from "./dev-config";
import { Registered, settle, valueOf } from "./pulumi-mocks";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\ndev-stack-key\n-----END OPENSSH PRIVATE KEY-----\n";

/**
 * stacks/index.ts under Pulumi's mocks with Pulumi.dev.yaml's config (changed
 * by `change` first, when given) and a secret SSH key: what it registers and
 * exports, once every registration has reached the mocks.
 */
export async function loadDevStack(change: (config: Record<string, any>) => void = () => undefined): Promise<{ reg: Registered[]; stack: Record<string, any> }> {
  const config = stackFileConfig("dev") as Record<string, any>;
  change(config);
  const text = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
  pulumi.runtime.setAllConfig({ ...text, "kvm-cloud:sshPrivateKey": KEY }, ["kvm-cloud:sshPrivateKey"]);
  const reg = installComponentMocks({ stdoutFor: cloudStdout });
  let stack: Record<string, any> = {};
  jest.isolateModules(() => {
    stack = require("../../stacks/index");
  });
  await valueOf(stack.monitoringUrls.prometheus);
  await settle();
  return { reg, stack };
}
