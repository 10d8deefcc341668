/**
 * A V8 CPU profile of this process (the load generator: both simulators) over a stretch of a
 * run, through the inspector, written as a `.cpuprofile` next to the bridge's: it shows what
 * limits the generator when it cannot keep real-time pace.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';

export interface SelfProfile {
  /** Stops profiling and writes the profile to `file`. */
  stop(file: string): Promise<void>;
}

export async function startSelfProfile(): Promise<SelfProfile> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop(file) {
      try {
        const { profile } = await session.post('Profiler.stop');
        await writeFile(file, JSON.stringify(profile));
      } finally {
        session.disconnect();
      }
    },
  };
}
