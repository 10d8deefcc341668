/**
 * CPU time and resident memory of another process, from Linux `/proc`: what the bridge costs,
 * measured from outside so the measurement adds nothing to it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ProcSample {
  /** When it was read, performance.now() ms. */
  atMs: number;
  /** User + system CPU time of all the process's threads so far, in seconds. */
  cpuSec: number;
  /** Resident set size, in bytes. */
  rssBytes: number;
}

let ticksPerSec: number | undefined;

/** Clock ticks per second of `/proc/<pid>/stat` (USER_HZ); 100 on every common Linux. */
function clockTicks(): number {
  if (ticksPerSec === undefined) {
    try {
      ticksPerSec = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    } catch {
      ticksPerSec = 100;
    }
    if (!Number.isFinite(ticksPerSec) || ticksPerSec <= 0) ticksPerSec = 100;
  }
  return ticksPerSec;
}

/** Reads one sample; throws when the process is gone or `/proc` is missing (not Linux). */
export function readProcSample(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may contain spaces and parentheses: fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the name: state is field 3 of stat(5), utime 14 and stime 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? Number.NaN);
  return {
    atMs: performance.now(),
    cpuSec: (utime + stime) / clockTicks(),
    rssBytes: rssKb * 1_024,
  };
}

/** Whether CPU and memory of other processes can be read here. */
export function procAvailable(): boolean {
  try {
    readProcSample(process.pid);
    return true;
  } catch {
    return false;
  }
}
