import { check } from "./errors";

/**
 * How a component runs its services on a host: as containers through Docker
 * over SSH, or from the distribution's packages under systemd (no Docker
 * engine and no registry needed; the lab's way). The database host's choice
 * serves both the inventory and the monitoring that runs beside it.
 */
export type HostRuntime = "docker" | "packages";
export const HOST_RUNTIMES: readonly HostRuntime[] = ["docker", "packages"];
export const DEFAULT_HOST_RUNTIME: HostRuntime = "docker";

export function checkHostRuntime(field: string, v: unknown): void {
  check(HOST_RUNTIMES.includes(v as HostRuntime), field, v, HOST_RUNTIMES.map((r) => `"${r}"`).join(" or "));
}

const IMAGE = /^[a-z0-9][a-z0-9._\/:@-]{0,254}$/;

/** A Docker image reference (the Docker runtime's images), e.g. "postgres:15". */
export function checkImageReference(field: string, v: unknown): void {
  check(typeof v === "string" && IMAGE.test(v), field, v, "a Docker image reference like postgres:15");
}
