/**
 * `p`, or a rejection with `onTimeout()` once `ms` have passed, whichever
 * comes first; the timer never outlives the race. What `p` was doing is not
 * stopped: callers that own work bound it at its source as well (ssh-runner's
 * remote `timeout`), this only stops the waiting.
 */
export async function withinMs<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(onTimeout()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
