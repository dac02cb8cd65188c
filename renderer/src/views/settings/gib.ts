const BYTES_PER_GIB = 1024 ** 3;

/** Result of reading a GPU memory field: bytes, null for an empty field, or an error naming the value. */
export type GibParse = { ok: true; bytes: number | null } | { ok: false; message: string };

/** Parses a GPU memory size in GiB (decimals allowed) into whole bytes. An empty field clears the value. */
export function parseGib(text: string): GibParse {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: true, bytes: null };
  const value = /^\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!Number.isFinite(value) || value <= 0 || value > 16_384) {
    return { ok: false, message: `invalid GPU memory '${trimmed}': enter GiB as a number above 0, e.g. 24 or 7.5` };
  }
  return { ok: true, bytes: Math.round(value * BYTES_PER_GIB) };
}

/** Formats bytes as GiB for an input field, with at most two decimals. */
export function formatGib(bytes: number | undefined): string {
  if (bytes === undefined) return '';
  return String(Math.round((bytes / BYTES_PER_GIB) * 100) / 100);
}

/** Result of reading a parallel slots field. */
export type SlotsParse = { ok: true; slots: number | null } | { ok: false; message: string };

/** Parses parallel request slots (1-256). An empty field removes the entry, so the default of 1 applies. */
export function parseSlots(text: string): SlotsParse {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: true, slots: null };
  const value = /^\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!Number.isInteger(value) || value < 1 || value > 256) {
    return { ok: false, message: `invalid parallel slots '${trimmed}': enter a whole number from 1 to 256` };
  }
  return { ok: true, slots: value };
}
