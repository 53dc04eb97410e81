// A TCP pass-through in front of the local stack's ClickHouse, for an API of
// the test's own: shutting the gate refuses new connections and cuts the
// open ones, as a ClickHouse that went down would; opening it again is the
// recovery. The stack's ClickHouse, and the suite's main API, never notice.

import { connect, createServer, type Server, type Socket } from "node:net";

import { freePort } from "./stack";

export class Gate {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly target: URL,
    private readonly port: number,
  ) {}

  /** An open gate to `target` (an http:// URL) on a free loopback port. */
  static async to(target: string): Promise<Gate> {
    const gate = new Gate(new URL(target), await freePort());
    await gate.open();
    return gate;
  }

  /** What the API behind the gate is given as its ClickHouse URL. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async open(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => {
      const upstream = connect(Number(this.target.port), this.target.hostname);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on("close", () => this.sockets.delete(socket));
        // Either side failing ends both: the API sees a broken connection.
        socket.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.server = server;
  }

  async shut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
