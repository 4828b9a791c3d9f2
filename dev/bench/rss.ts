import { readdirSync, readFileSync } from 'node:fs';

/**
 * Peak RSS of this process's descendants while `watch` runs. circom2 compiles in a child process
 * (src/circom/compile.ts), so `process.resourceUsage().maxRSS` never sees the compiler's memory, which is the
 * largest of the pipeline for big circuits. Linux only: it polls /proc and keeps the largest VmHWM (a process's
 * own peak, so a poll anywhere in the child's life sees its peak up to then); on other systems it returns
 * undefined.
 */
export function watchDescendantsPeakRss(intervalMs = 200): { stop(): number | undefined } {
  let peakKB: number | undefined;
  const sample = () => {
    let entries: string[];
    try {
      entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
    } catch {
      return;
    }
    const parent = new Map<number, number>();
    for (const e of entries) {
      try {
        // Field 4 of /proc/<pid>/stat is the parent pid; the command name (field 2) may hold spaces, so split after ')'.
        const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
        parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      } catch {
        // The process ended between the listing and the read.
      }
    }
    const isDescendant = (pid: number): boolean => {
      for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === process.pid) return true;
      return false;
    };
    for (const pid of parent.keys()) {
      if (!isDescendant(pid)) continue;
      try {
        const kb = Number(/VmHWM:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
        if (kb > (peakKB ?? 0)) peakKB = kb;
      } catch {
        // Ended meanwhile.
      }
    }
  };
  const timer = setInterval(sample, intervalMs);
  sample();
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peakKB === undefined ? undefined : Math.round(peakKB / 1024);
    },
  };
}
