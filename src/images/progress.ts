// What a person sees while images download. On a terminal: one self-rewriting line per
// file with bytes so far and the total. Anywhere else (CI logs, pipes): one line per file
// once it is settled, so logs stay short and greppable.

export interface Reporter {
  progress(label: string, done: number, total?: number): void;
  /** All bytes are in; hashing or signature checking is under way (seconds for a big file). */
  verifying(label: string): void;
  /** A file is in images/ and verified: `how` says what was done, `detail` why to trust it. */
  settled(label: string, how: 'fetched' | 'kept', bytes: number, detail: string): void;
  /** Something went wrong with `label`: clear any half-drawn progress line. */
  failed(label: string): void;
}

interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** Redraws at most this often: a fast local mirror would otherwise flood the terminal. */
const REDRAW_MS = 100;

export function makeReporter(out: Output = process.stderr): Reporter {
  return out.isTTY ? terminalReporter(out) : lineReporter(out);
}

function terminalReporter(out: Output): Reporter {
  let lastDraw = 0;
  let drawn = false;
  const clear = (): void => {
    if (drawn) out.write('\r\x1b[K');
    drawn = false;
  };
  return {
    progress(label, done, total) {
      const now = Date.now();
      if (now - lastDraw < REDRAW_MS && done !== total) return;
      lastDraw = now;
      const share = total ? `  ${Math.floor((done / total) * 100)}%` : '';
      out.write(`\r\x1b[K${label}  ${size(done)} / ${total === undefined ? '?' : size(total)}${share}`);
      drawn = true;
    },
    verifying(label) {
      out.write(`\r\x1b[K${label}  verifying…`);
      drawn = true;
    },
    settled(label, how, bytes, detail) {
      clear();
      out.write(`${how} ${label} (${size(bytes)}, ${detail})\n`);
    },
    failed: clear,
  };
}

function lineReporter(out: Output): Reporter {
  return {
    progress() {},
    verifying() {},
    settled(label, how, bytes, detail) {
      out.write(`${how} ${label} (${size(bytes)}, ${detail})\n`);
    },
    failed() {},
  };
}

/** Bytes for people: 1023 B, 4.0 KiB, 312.5 MiB. */
export function size(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
