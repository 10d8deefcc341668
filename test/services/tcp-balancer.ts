/**
 * A round-robin TCP balancer: each new connection goes to the next backend, as a Kubernetes
 * Service spreads Twilio's media WebSockets over call-bridge pods. Byte-for-byte piping, so the
 * WebSocket handshake and frames pass untouched; a backend that is gone closes the client side.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpBalancer {
  port: number;
  /** Changes where new connections go (a pod left the Service); open ones stay. */
  setBackends(ports: number[]): void;
  close(): Promise<void>;
}

export async function startTcpBalancer(initial: number[]): Promise<TcpBalancer> {
  let backends = [...initial];
  let next = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const port = backends[next % backends.length]!;
    next += 1;
    const upstream = connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('balancer has no port');
  return {
    port: address.port,
    setBackends: (ports) => {
      backends = [...ports];
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
