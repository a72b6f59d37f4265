import * as path from "path";

/**
 * Where the lab keeps its files. Everything lives under one state directory
 * (git-ignored) so that `lab:down` can remove all of it in one step.
 */
export interface LabPaths {
  readonly root: string;
  readonly state: string;
  readonly description: string;
  readonly sshKey: string;
  readonly secrets: string;
  readonly ceph: string;
  readonly dns: string;
  readonly images: string;
}

export function labPaths(state = process.env.KVMCLOUD_LAB_STATE ?? path.resolve(__dirname, ".state")): LabPaths {
  return {
    root: path.resolve(__dirname, ".."),
    state,
    description: path.join(state, "lab.json"),
    sshKey: path.join(state, "ssh", "id_ed25519"),
    secrets: path.join(state, "secrets"),
    ceph: path.join(state, "ceph"),
    dns: path.join(state, "dns"),
    images: path.join(state, "images"),
  };
}
