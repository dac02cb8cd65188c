import { open } from 'node:fs/promises';
import { GgmlType, readGgufFileInfo } from 'node-llama-cpp';

/** Verdict on whether a file is a readable GGUF model, with the reason when it is not. */
export type ModelFileCheck = { ok: true } | { ok: false; reason: string };

/** The four bytes every GGUF file starts with. */
const GGUF_MAGIC = Buffer.from('GGUF', 'ascii');

/**
 * Bytes per block and elements per block of the ggml tensor types, used to find where the last
 * tensor ends. Types missing here count as one byte, so a file truncated inside the last tensor
 * of such a type passes the check and fails only when it is loaded.
 */
const TYPE_LAYOUT: Partial<Record<GgmlType, { bytes: number; elements: number }>> = {
  [GgmlType.F32]: { bytes: 4, elements: 1 },
  [GgmlType.F16]: { bytes: 2, elements: 1 },
  [GgmlType.BF16]: { bytes: 2, elements: 1 },
  [GgmlType.F64]: { bytes: 8, elements: 1 },
  [GgmlType.I8]: { bytes: 1, elements: 1 },
  [GgmlType.I16]: { bytes: 2, elements: 1 },
  [GgmlType.I32]: { bytes: 4, elements: 1 },
  [GgmlType.I64]: { bytes: 8, elements: 1 },
  [GgmlType.Q4_0]: { bytes: 18, elements: 32 },
  [GgmlType.Q4_1]: { bytes: 20, elements: 32 },
  [GgmlType.Q5_0]: { bytes: 22, elements: 32 },
  [GgmlType.Q5_1]: { bytes: 24, elements: 32 },
  [GgmlType.Q8_0]: { bytes: 34, elements: 32 },
  [GgmlType.Q2_K]: { bytes: 84, elements: 256 },
  [GgmlType.Q3_K]: { bytes: 110, elements: 256 },
  [GgmlType.Q4_K]: { bytes: 144, elements: 256 },
  [GgmlType.Q5_K]: { bytes: 176, elements: 256 },
  [GgmlType.Q6_K]: { bytes: 210, elements: 256 },
};

const verdicts = new Map<string, { key: string; check: ModelFileCheck }>();

/**
 * Checks that the file at `path` starts with the GGUF magic, that its header parses, and that
 * the header and every tensor it lists fit inside the file. Verdicts are cached per path, size
 * and modification time, so a listing rereads only files that changed.
 */
export async function checkModelFile(path: string, sizeBytes: number, mtimeMs: number): Promise<ModelFileCheck> {
  const key = `${sizeBytes}:${mtimeMs}`;
  const hit = verdicts.get(path);
  if (hit && hit.key === key) return hit.check;
  const check = await inspect(path, sizeBytes);
  verdicts.set(path, { key, check });
  return check;
}

async function inspect(path: string, sizeBytes: number): Promise<ModelFileCheck> {
  if (sizeBytes === 0) return { ok: false, reason: 'the file is empty' };
  let head: Buffer;
  try {
    head = await readHead(path, GGUF_MAGIC.length);
  } catch (error) {
    return { ok: false, reason: `the file cannot be read: ${(error as Error).message}` };
  }
  if (!head.equals(GGUF_MAGIC)) {
    return { ok: false, reason: `the file does not start with the GGUF magic bytes (found ${JSON.stringify(head.toString('latin1'))})` };
  }

  let info: Awaited<ReturnType<typeof readGgufFileInfo>>;
  try {
    info = await readGgufFileInfo(path, { readTensorInfo: true, logWarnings: false, spliceSplitFiles: false });
  } catch (error) {
    return { ok: false, reason: `the GGUF header cannot be read: ${(error as Error).message}` };
  }

  // The parser reads past the end of a short file without failing, so sizes are checked here.
  const headerEnd = info.infoEndOffset ?? 0;
  if (headerEnd > sizeBytes) {
    return { ok: false, reason: `the file is truncated: the GGUF header ends at byte ${headerEnd} but the file has ${sizeBytes} bytes` };
  }
  const dataEnd = tensorDataEnd(info.tensorInfo ?? []);
  if (dataEnd > sizeBytes) {
    return { ok: false, reason: `the file is truncated: its tensors end at byte ${dataEnd} but the file has ${sizeBytes} bytes` };
  }
  return { ok: true };
}

async function readHead(path: string, length: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

type TensorPlacement = { ggmlType: GgmlType; dimensions: readonly (number | bigint)[]; fileOffset: number | bigint };

/** Returns the byte offset just past the end of the tensor that lies last in the file. */
function tensorDataEnd(tensors: readonly TensorPlacement[]): number {
  let end = 0;
  for (const tensor of tensors) {
    const elements = tensor.dimensions.reduce<number>((product, dim) => product * Number(dim), 1);
    const layout = TYPE_LAYOUT[tensor.ggmlType];
    const bytes = layout ? Math.ceil(elements / layout.elements) * layout.bytes : 1;
    end = Math.max(end, Number(tensor.fileOffset) + bytes);
  }
  return end;
}
