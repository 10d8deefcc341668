/**
 * A forced full garbage collection in another Node.js process, through its inspector
 * (`node --inspect=127.0.0.1:0`, Chrome DevTools protocol): the bridge exposes no GC of its
 * own, and heap figures read between collections swing by tens of MiB with the collector's
 * schedule. Heap used right after a full collection is what a leak grows.
 */
import { WebSocket } from 'ws';
import { z } from 'zod';

import type { ServiceProcess } from '../stack/service-process.js';

/** The flag that makes a service listen for the inspector on a free local port. */
export const INSPECT_FLAG = '--inspect=127.0.0.1:0';

const LISTENING = /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/;

const reply = z.object({
  id: z.number(),
  result: z.record(z.string(), z.unknown()).optional(),
  error: z.object({ message: z.string() }).optional(),
});
const heapUsage = z.object({ usedSize: z.number(), totalSize: z.number() });

export interface HeapAfterGc {
  /** V8 heap in use right after a full collection, bytes. */
  usedBytes: number;
  /** V8 heap reserved, bytes. */
  totalBytes: number;
}

export class InspectorGc {
  readonly #ws: WebSocket;
  #nextId = 1;
  readonly #pending = new Map<number, (r: z.infer<typeof reply>) => void>();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (data) => {
      const parsed = reply.safeParse(JSON.parse(String(data)));
      // Events (no id) and foreign replies are not ours to handle.
      if (!parsed.success) return;
      this.#pending.get(parsed.data.id)?.(parsed.data);
      this.#pending.delete(parsed.data.id);
    });
  }

  /** Connects to the inspector `proc` announced on its stderr (started with {@link INSPECT_FLAG}). */
  static async attach(proc: ServiceProcess, timeoutMs = 10_000): Promise<InspectorGc> {
    const deadline = Date.now() + timeoutMs;
    let url: string | undefined;
    while (url === undefined) {
      url = proc.tail.map((l) => LISTENING.exec(l)?.[1]).find((u) => u !== undefined);
      if (url !== undefined) break;
      if (Date.now() > deadline)
        throw new Error(`${proc.name} announced no inspector (started with ${INSPECT_FLAG}?)`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return new InspectorGc(ws);
  }

  async #call(method: string): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    const answered = new Promise<z.infer<typeof reply>>((resolve) =>
      this.#pending.set(id, resolve),
    );
    this.#ws.send(JSON.stringify({ id, method }));
    const r = await answered;
    if (r.error) throw new Error(`inspector ${method}: ${r.error.message}`);
    return r.result ?? {};
  }

  /** Runs a full collection, then reads the heap. */
  async collect(): Promise<HeapAfterGc> {
    await this.#call('HeapProfiler.collectGarbage');
    const h = heapUsage.parse(await this.#call('Runtime.getHeapUsage'));
    return { usedBytes: h.usedSize, totalBytes: h.totalSize };
  }

  close(): void {
    this.#ws.close();
  }
}
