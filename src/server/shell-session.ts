/**
 * One Connect session: a WebSocket relayed to a shell inside an instance that runs on a pty of the server's
 * (@lydell/node-pty: node-pty with prebuilt binaries; the runtime's shell command, runc exec -t, needs its stdio
 * to be a terminal and follows that terminal's size).
 *
 * The wire: binary frames both ways are the terminal's bytes (keys in, output out); a text frame from the client
 * is a JSON control message, {"type":"resize","cols":N,"rows":M}. The shell's exit closes the socket (1000, or
 * 1011 when it could not start); the socket's close, a client gone silent (no pong for a ping interval) or the
 * server's shutdown ends the shell: SIGHUP, as a terminal hanging up, then SIGKILL if it is still there.
 */
import type { IPty } from '@lydell/node-pty';
import { spawn } from '@lydell/node-pty';
import type { WebSocket } from 'ws';
import type { Context } from '../services/core/context.js';

const PING_MS = 30_000;
const KILL_GRACE_MS = 3_000;
/** Output held back while the socket's send buffer is this full (a slow client slows the shell, not the server's memory). */
const HIGH_WATER = 1 << 20;

export class ShellSessions {
  private readonly live = new Set<Session>();
  constructor(private readonly ctx: Context) {}

  /** `who`: the account and instance, for the server's log (a shell in an instance is worth a line when it opens and ends). */
  start(ws: WebSocket, argv: string[], size: { cols: number; rows: number }, who: string): void {
    let s: Session;
    try {
      s = new Session(ws, argv, size, () => { this.live.delete(s); this.ctx.log(`kiln: connect: shell of ${who} ended`); });
    } catch (err) {
      this.ctx.log(`kiln: connect: could not start a shell for ${who} (${(err as Error).message})`);
      ws.close(1011, 'could not start a shell');
      return;
    }
    this.live.add(s);
    this.ctx.log(`kiln: connect: shell opened for ${who}`);
  }

  closeAll(): void {
    for (const s of [...this.live]) s.end(1001, 'server shutting down');
  }
}

class Session {
  private readonly pty: IPty;
  private exited = false;
  private ended = false;
  private alive = true;
  private paused = false;
  private readonly ping: NodeJS.Timeout;
  private killTimer?: NodeJS.Timeout;

  constructor(private readonly ws: WebSocket, argv: string[], size: { cols: number; rows: number }, private readonly done: () => void) {
    this.pty = spawn(argv[0]!, argv.slice(1), {
      name: 'xterm-256color', cols: size.cols, rows: size.rows, cwd: '/',
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', TERM: 'xterm-256color', LANG: 'C.UTF-8' },
    });
    this.pty.onData((data) => {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(Buffer.from(data, 'utf8'));
      if (ws.bufferedAmount > HIGH_WATER) this.holdBack();
    });
    this.pty.onExit(() => {
      this.exited = true;
      clearTimeout(this.killTimer);
      this.end(1000, 'shell exited');
    });
    ws.on('message', (data, binary) => this.input(Buffer.isBuffer(data) ? data : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]), binary));
    ws.on('close', () => this.end(1000, ''));
    ws.on('error', () => this.end(1011, ''));
    ws.on('pong', () => { this.alive = true; });
    this.ping = setInterval(() => {
      if (!this.alive) { ws.terminate(); return; }
      this.alive = false;
      ws.ping();
    }, PING_MS);
    this.ping.unref();
  }

  /** Stops reading the shell's output until the socket has sent most of what it holds (checked on a short clock). */
  private holdBack(): void {
    if (this.paused) return;
    this.paused = true;
    this.pty.pause();
    const t = setInterval(() => {
      if (!this.ended && this.ws.bufferedAmount > HIGH_WATER / 2) return;
      clearInterval(t);
      this.paused = false;
      if (!this.ended) this.pty.resume();
    }, 50);
    t.unref();
  }

  private input(data: Buffer, binary: boolean): void {
    if (this.ended) return;
    if (binary) { this.pty.write(data.toString('utf8')); return; }
    let msg: { type?: unknown; cols?: unknown; rows?: unknown };
    try { msg = JSON.parse(data.toString('utf8')) as typeof msg; } catch { return; }
    const ok = (n: unknown): n is number => Number.isInteger(n) && (n as number) > 0 && (n as number) <= 1000;
    if (msg.type === 'resize' && ok(msg.cols) && ok(msg.rows) && !this.exited) this.pty.resize(msg.cols, msg.rows);
  }

  /** Ends both sides, once: the socket with `code`, the shell by hanging up its terminal. */
  end(code: number, reason: string): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.ping);
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, reason);
    if (!this.exited) {
      this.signal('SIGHUP');
      this.killTimer = setTimeout(() => this.signal('SIGKILL'), KILL_GRACE_MS);
      this.killTimer.unref();
    }
    this.done();
  }

  private signal(sig: NodeJS.Signals): void {
    if (this.exited) return;
    try { this.pty.kill(sig); } catch { /* already gone */ }
  }
}
