/**
 * The soundness suites report what they tried as test diagnostics (`# zkml-count {...}` in the TAP output), so
 * scripts/security-counts.ts can print the numbers SECURITY.md quotes from the very runs that passed.
 */
import type { TestContext } from 'node:test';

export const COUNT_PREFIX = 'zkml-count ';

export function report(t: TestContext, data: Record<string, unknown>): void {
  t.diagnostic(COUNT_PREFIX + JSON.stringify(data, (_k, v) => (v instanceof Map ? Object.fromEntries(v) : typeof v === 'bigint' ? v.toString() : v)));
}
