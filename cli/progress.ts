/**
 * A progress line on stderr for long work (capture replays): percentage, MB/s and time left,
 * redrawn at most five times a second, and only on a terminal unless asked for.
 */
export interface Progress {
  advance(bytes: number): void;
  done(): void;
}

export function createProgress(opts: {
  total: number;
  enabled: boolean;
  stream?: NodeJS.WriteStream;
  now?: () => number;
}): Progress {
  const stream = opts.stream ?? process.stderr;
  const now = opts.now ?? (() => performance.now());
  const started = now();
  let seen = 0;
  let drawnAt = Number.NEGATIVE_INFINITY;
  let drawn = false;

  const draw = () => {
    const elapsed = (now() - started) / 1000;
    const fraction = opts.total > 0 ? Math.min(1, seen / opts.total) : 1;
    const rate = elapsed > 0 ? seen / elapsed : 0;
    const left = rate > 0 ? (opts.total - seen) / rate : 0;
    const width = 30;
    const bar = "#".repeat(Math.round(fraction * width)).padEnd(width, ".");
    stream.write(
      `\r[${bar}] ${(fraction * 100).toFixed(1).padStart(5)}%  ${(rate / 1e6).toFixed(1)} MB/s  ${formatSeconds(left)} left `,
    );
    drawn = true;
  };

  return {
    advance(bytes) {
      seen += bytes;
      if (!opts.enabled) return;
      const t = now();
      if (t - drawnAt >= 200) {
        drawnAt = t;
        draw();
      }
    },
    done() {
      if (!opts.enabled) return;
      seen = opts.total;
      draw();
      if (drawn) stream.write("\n");
    },
  };
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "--";
  if (s < 60) return `${Math.ceil(s)}s`;
  return `${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, "0")}s`;
}
