/** Polls check() until it returns true; rejects with message (and the last error) after timeoutMs. */
export async function waitUntil(
  check: () => Promise<boolean>,
  timeoutMs: number,
  message: string,
  opts: { intervalMs?: number; abort?: Promise<never> } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let settled = false;
  const poll = async (): Promise<void> => {
    while (!settled && Date.now() < deadline) {
      try {
        if (await check()) return;
      } catch (err) {
        lastError = err;
      }
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
    }
    throw new Error(`${message} (after ${timeoutMs} ms)${lastError ? `: ${String(lastError)}` : ''}`);
  };
  try {
    // abort: a component's exit rejects the wait at once instead of after the timeout.
    await (opts.abort ? Promise.race([poll(), opts.abort]) : poll());
  } finally {
    settled = true;
  }
}
