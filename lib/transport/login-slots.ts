/**
 * SSH logins to one host that this process runs at once. sshd drops
 * connections beyond its MaxStartups (default 10:30:100: from 10 logins
 * still in their handshake on, 30 % of new ones, rising to all at 100), and
 * a burst of key exchanges on a busy host can each take longer than any sane
 * timeout: in CI, 16 VMs created at once started 32 handshakes to two nodes,
 * and one create failed "Timed out while waiting for handshake" on both.
 * A login past the limit waits for a slot, within its own connect budget; an
 * open session does not hold a slot.
 */
export const LOGINS_PER_HOST = 4;

export class LoginSlots {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  /** Logins running now. */
  get inUse(): number {
    return this.active;
  }

  /**
   * Resolves with the slot's release once one is free, oldest waiter first;
   * rejects when `deadline` (epoch ms) passes first.
   */
  acquire(deadline: number): Promise<() => void> {
    const grant = (): (() => void) => {
      this.active++;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        this.active--;
        this.waiting.shift()?.();
      };
    };
    if (this.active < this.limit) return Promise.resolve(grant());
    return new Promise((resolve, reject) => {
      const turn = () => {
        clearTimeout(timer);
        resolve(grant());
      };
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(turn);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new Error(`no login slot within the connect timeout: ${this.active} logins to this host already in their handshake`));
      }, Math.max(0, deadline - Date.now()));
      this.waiting.push(turn);
    });
  }
}

const byHost = new Map<string, LoginSlots>();

/** The slots of one host:port, shared by every connection this process makes. */
export function loginSlots(host: string, port: number): LoginSlots {
  const key = `${host}:${port}`;
  let s = byHost.get(key);
  if (!s) {
    s = new LoginSlots(LOGINS_PER_HOST);
    byHost.set(key, s);
  }
  return s;
}
