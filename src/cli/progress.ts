/**
 * Progress on stderr: a bar redrawn in place when stderr is a terminal, else
 * a plain line at every tenth of the way (logs and pipes stay readable).
 */
export interface Progress {
  update(done: number, total: number, bytes: number): void;
  /** Ends the display (the bar's line is finished with a newline). */
  end(): void;
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

export function progress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  const start = performance.now();
  let lastTenth = -1;
  let drawn = false;
  let lastDraw = 0;
  const rate = (bytes: number) => `${mb(bytes / Math.max(0.001, (performance.now() - start) / 1000))} MB/s`;
  return {
    update(done, total, bytes) {
      const frac = total ? done / total : 1;
      if (stream.isTTY) {
        const now = performance.now();
        if (done < total && now - lastDraw < 100) return;
        lastDraw = now;
        const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - label.length - 50));
        const filled = Math.round(frac * width);
        stream.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${done}/${total} blocks ${mb(bytes)} MB ${rate(bytes)}\x1b[K`);
        drawn = true;
        return;
      }
      const tenth = Math.floor(frac * 10);
      if (tenth === lastTenth) return;
      lastTenth = tenth;
      stream.write(`${label}: ${tenth * 10}% (${done}/${total} blocks, ${mb(bytes)} MB, ${rate(bytes)})\n`);
    },
    end() {
      if (drawn) stream.write('\n');
    },
  };
}
