/** The machine a run was made on, for the report: results mean little without it. */
import { execFileSync } from 'node:child_process';
import { cpus, hostname, release, totalmem } from 'node:os';

export interface MachineInfo {
  host: string;
  cpuModel: string;
  /** Logical CPUs the OS reports. */
  cores: number;
  memoryGiB: number;
  node: string;
  kernel: string;
  /** Whether processes can be pinned to a core (`taskset`). */
  taskset: boolean;
}

export function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function describeMachine(): MachineInfo {
  const list = cpus();
  return {
    host: hostname(),
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 1_024 ** 3) * 10) / 10,
    node: process.version,
    kernel: release(),
    taskset: hasTaskset(),
  };
}
