/**
 * What a multi-step operation may have made so far, so a failure can remove
 * it in reverse order. Callers record a step before running it (a step that
 * times out may still have made its thing), so every undo treats "not found"
 * as done; and they refuse in preflight anything of the same name that was
 * there before, so an undo never removes something older.
 */
export class UndoLog {
  private readonly entries: Array<{ what: string; undo: () => Promise<void>; claim: boolean }> = [];

  record(what: string, undo: () => Promise<void>): void {
    this.entries.push({ what, undo, claim: false });
  }

  /**
   * A record that claims what the newer steps made (e.g. the VM's inventory
   * row): undone only when every newer undo succeeded. Otherwise it stays, so
   * that whatever could not be removed is still claimed, and the next run can
   * find it and take it over.
   */
  recordClaim(what: string, undo: () => Promise<void>): void {
    this.entries.push({ what, undo, claim: true });
  }

  /** Undoes everything, newest first, going on past failures. */
  async undoAll(): Promise<{ removed: string[]; left: Array<{ what: string; why: string }> }> {
    const removed: string[] = [];
    const left: Array<{ what: string; why: string }> = [];
    for (const e of [...this.entries].reverse()) {
      if (e.claim && left.length > 0) {
        left.push({ what: e.what, why: "kept: it claims what could not be removed, for the next run to take over" });
        continue;
      }
      try {
        await e.undo();
        removed.push(e.what);
      } catch (err) {
        left.push({ what: e.what, why: (err as Error).message });
      }
    }
    this.entries.length = 0;
    return { removed, left };
  }
}

/** A create that failed at `step`; everything it made was removed unless `left` says otherwise. */
export class VmOperationError extends Error {
  constructor(
    readonly vm: string,
    readonly step: string,
    readonly cause: Error,
    readonly removed: string[],
    readonly left: Array<{ what: string; why: string }>,
  ) {
    const cleanup =
      removed.length + left.length === 0
        ? "nothing had been made"
        : left.length === 0
          ? `removed what it had made: ${removed.join(", ")}`
          : `removed ${removed.join(", ") || "nothing"}; could NOT remove ${left.map((l) => `${l.what} (${l.why})`).join("; ")}`;
    const message = `creating VM ${vm} failed at step "${step}": ${cause.message}\n${cleanup}`;
    super(message);
    this.message = message; // see ValidationError
    this.name = "VmOperationError";
  }
}
