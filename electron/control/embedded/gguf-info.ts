import { stat } from 'node:fs/promises';
import { GgufFileType, readGgufFileInfo } from 'node-llama-cpp';

/** Facts from a GGUF file's header, as `/api/tags` and `/api/show` report them. */
export type GgufSummary = {
  architecture: string;
  /** `F16`, `Q4_K_M`, ... as Ollama shows it. */
  quantizationLevel: string;
  parameterCount: number;
  /** Ollama-style short count: `7.2B`, `137M`, `52K`. */
  parameterSize: string;
  blockCount?: number;
  contextLength?: number;
  embeddingLength?: number;
  chatTemplate?: string;
  /** GGUF metadata flattened to dotted keys; arrays become null, as Ollama's non-verbose show does. */
  modelInfo: Record<string, unknown>;
};

const cache = new Map<string, { key: string; summary: GgufSummary }>();

/** Reads the header of a GGUF file; results are cached per path, size and modification time. */
export async function readGgufSummary(path: string): Promise<GgufSummary> {
  const info = await stat(path);
  const key = `${info.size}:${info.mtimeMs}`;
  const hit = cache.get(path);
  if (hit && hit.key === key) return hit.summary;

  const gguf = await readGgufFileInfo(path, { readTensorInfo: true });
  const metadata = gguf.metadata as unknown as Record<string, unknown>;
  const general = (metadata.general ?? {}) as Record<string, unknown>;
  const architecture = String(general.architecture ?? 'unknown');
  const arch = (gguf.architectureMetadata ?? {}) as Record<string, unknown>;

  let parameterCount = 0;
  for (const tensor of gguf.fullTensorInfo ?? gguf.tensorInfo ?? []) {
    parameterCount += tensor.dimensions.reduce<number>((product, dim) => product * Number(dim), 1);
  }

  const modelInfo: Record<string, unknown> = {};
  flatten(metadata, '', modelInfo);
  modelInfo['general.parameter_count'] = parameterCount;

  const tokenizer = (metadata.tokenizer ?? {}) as Record<string, unknown>;
  const summary: GgufSummary = {
    architecture,
    quantizationLevel: quantizationName(general.file_type),
    parameterCount,
    parameterSize: humanCount(parameterCount),
    blockCount: numberOrUndefined(arch.block_count),
    contextLength: numberOrUndefined(arch.context_length),
    embeddingLength: numberOrUndefined(arch.embedding_length),
    chatTemplate: typeof tokenizer.chat_template === 'string' ? tokenizer.chat_template : undefined,
    modelInfo,
  };
  cache.set(path, { key, summary });
  return summary;
}

function flatten(value: unknown, prefix: string, out: Record<string, unknown>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value)) {
      flatten(child, prefix ? `${prefix}.${key}` : key, out);
    }
    return;
  }
  if (Array.isArray(value) || ArrayBuffer.isView(value)) {
    out[prefix] = null;
    return;
  }
  out[prefix] = typeof value === 'bigint' ? Number(value) : value;
}

function quantizationName(fileType: unknown): string {
  if (typeof fileType !== 'number') return 'unknown';
  const name = (GgufFileType as unknown as Record<number, string>)[fileType];
  if (!name) return 'unknown';
  return name.replace(/^(MOSTLY|ALL)_/, '');
}

function humanCount(count: number): string {
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [size, suffix] of units) {
    if (count >= size) {
      const scaled = count / size;
      const text = scaled >= 100 ? scaled.toFixed(0) : scaled.toFixed(scaled >= 10 ? 1 : 2);
      return `${text.replace(/\.?0+$/, '')}${suffix}`;
    }
  }
  return String(count);
}

function numberOrUndefined(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}
