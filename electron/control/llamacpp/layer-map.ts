import type { DeviceLayers, LayerMap } from '../../../shared/api/distributed';

export type ModelFacts = {
  architecture?: string;
  fileType?: string;
  /** Parameter count as llama.cpp prints it, for example `1.24 M`. */
  parameterSize?: string;
  contextLength?: number;
  layerCount?: number;
};

const MIB = 1024 * 1024;

/**
 * Maps a ggml buffer or device name to the device it lives on. `CPU_Mapped`, `CPU_REPACK` and
 * `CPU` become `CPU`, and `RPC0[127.0.0.1:50052]` becomes `RPC[127.0.0.1:50052]`. A bare device
 * id such as `RPC1` is looked up in `aliases`, which the `using device` lines fill.
 */
export function canonicalDevice(name: string, aliases: Map<string, string> = new Map()): string {
  if (/^CPU/i.test(name)) return 'CPU';
  const rpc = /^RPC\d*\[(.+)\]$/.exec(name);
  if (rpc) return `RPC[${rpc[1]}]`;
  const alias = aliases.get(name);
  if (alias) return alias;
  return name;
}

/**
 * Parses llama-server's load output into a per-device distribution: model buffer, KV cache and
 * compute buffer sizes in MiB, the offloaded layer count, and layer ranges when the log carries
 * the per-layer assignment lines. The buffer lines need `-lv 4` or higher in this llama.cpp
 * version (0.4.0-dev), and the per-layer lines need `-lv 5`.
 */
export function parseLayerMap(lines: string[]): LayerMap {
  const aliases = new Map<string, string>();
  const devices = new Map<string, DeviceLayers>();
  const layerDevice = new Map<number, string>();
  let offloaded: number | null = null;
  let total: number | null = null;

  const device = (name: string): DeviceLayers => {
    const key = canonicalDevice(name, aliases);
    let entry = devices.get(key);
    if (!entry) {
      entry = { device: key, modelMiB: 0, kvMiB: 0, computeMiB: 0, layerRanges: [] };
      devices.set(key, entry);
    }
    return entry;
  };

  for (const line of lines) {
    // llama-server may load the model twice (a first pass that only measures), so each new load starts over.
    if (/llama_model_loader: loaded meta data/.test(line)) {
      devices.clear();
      layerDevice.clear();
      offloaded = null;
      total = null;
      continue;
    }
    let m = /using device (\S+) \(([^)]*)\)/.exec(line);
    if (m) {
      if (/^RPC/.test(m[1])) aliases.set(m[1], `RPC[${m[2]}]`);
      else aliases.set(m[1], m[1]);
      device(m[1]);
      continue;
    }
    m = /offloaded (\d+)\/(\d+) layers to GPU/.exec(line);
    if (m) {
      offloaded = Number(m[1]);
      total = Number(m[2]);
      continue;
    }
    m = /:\s+(\S+) model buffer size =\s*([\d.]+) MiB/.exec(line);
    if (m) {
      device(m[1]).modelMiB += Number(m[2]);
      continue;
    }
    m = /:\s+(\S+) KV buffer size =\s*([\d.]+) MiB/.exec(line);
    if (m) {
      device(m[1]).kvMiB += Number(m[2]);
      continue;
    }
    m = /:\s+(\S+) compute buffer size =\s*([\d.]+) MiB/.exec(line);
    if (m) {
      device(m[1]).computeMiB += Number(m[2]);
      continue;
    }
    m = /layer\s+(\d+) assigned to device (\S+?),/.exec(line);
    if (m) layerDevice.set(Number(m[1]), m[2]);
  }

  for (const [layer, name] of [...layerDevice.entries()].sort((a, b) => a[0] - b[0])) {
    const ranges = device(name).layerRanges;
    const last = ranges.at(-1);
    if (last && last[1] === layer - 1) last[1] = layer;
    else ranges.push([layer, layer]);
  }

  const list = [...devices.values()].map((d) => ({
    ...d,
    modelMiB: round2(d.modelMiB),
    kvMiB: round2(d.kvMiB),
    computeMiB: round2(d.computeMiB),
  }));
  const offloadedMiB = list
    .filter((d) => d.device !== 'CPU')
    .reduce((sum, d) => sum + d.modelMiB + d.kvMiB + d.computeMiB, 0);
  return {
    offloadedLayers: offloaded,
    totalLayers: total,
    devices: list,
    offloadedBytes: Math.round(offloadedMiB * MIB),
  };
}

/** Reads the model facts llama.cpp prints while loading (architecture, file type, size, context). */
export function parseModelFacts(lines: string[]): ModelFacts {
  const facts: ModelFacts = {};
  for (const line of lines) {
    let m = /print_info: arch\s+=\s+(\S+)/.exec(line);
    if (m) facts.architecture = m[1];
    m = /print_info: file type\s+=\s+(.+?)\s*$/.exec(line);
    if (m) facts.fileType = m[1];
    m = /print_info: model params\s+=\s+(.+?)\s*$/.exec(line);
    if (m) facts.parameterSize = m[1].replace(/\s+/g, '');
    m = /print_info: n_layer\s+=\s+(\d+)/.exec(line);
    if (m) facts.layerCount = Number(m[1]);
    m = /n_ctx\s+=\s+(\d+)/.exec(line);
    if (m && /llama_context:/.test(line)) facts.contextLength = Number(m[1]);
  }
  return facts;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * Fills in per-device layer ranges when the load log does not list them (llama-server logs the
 * per-layer assignment only at debug verbosity). llama.cpp counts the output layer last and puts
 * each offloaded layer on the first device whose cumulative tensor-split share exceeds the
 * layer's position in the offloaded run. Layers before that run stay on the CPU. Only maps whose
 * offloaded devices are exactly the RPC backends, in `--rpc` order, are derived.
 */
export function withDerivedLayerRanges(map: LayerMap, input: { backends: string[]; tensorSplit?: number[] }): LayerMap {
  const alreadyListed = map.devices.some((d) => d.layerRanges.length > 0);
  const { offloadedLayers, totalLayers } = map;
  if (alreadyListed || offloadedLayers === null || totalLayers === null || offloadedLayers <= 0) return map;

  // One backend takes every offloaded layer; llama-server is then started without --tensor-split.
  const split = input.tensorSplit ?? (input.backends.length === 1 ? [1] : undefined);
  if (!split || split.length !== input.backends.length || split.some((share) => !(share >= 0))) return map;
  const gpuDevices = map.devices.filter((d) => d.device !== 'CPU');
  const rpcNames = input.backends.map((endpoint) => `RPC[${endpoint}]`);
  if (gpuDevices.some((d) => !rpcNames.includes(d.device))) return map;

  const total = split.reduce((sum, share) => sum + share, 0);
  if (total <= 0) return map;
  const cumulative: number[] = [];
  let running = 0;
  for (const share of split) {
    running += share / total;
    cumulative.push(running);
  }

  const firstOffloaded = Math.max(totalLayers - offloadedLayers, 0);
  const ranges = new Map<string, Array<[number, number]>>();
  const assign = (device: string, layer: number) => {
    const list = ranges.get(device) ?? [];
    const last = list.at(-1);
    if (last && last[1] === layer - 1) last[1] = layer;
    else list.push([layer, layer]);
    ranges.set(device, list);
  };
  for (let layer = 0; layer < totalLayers; layer += 1) {
    if (layer < firstOffloaded) {
      assign('CPU', layer);
      continue;
    }
    const position = (layer - firstOffloaded) / offloadedLayers;
    let index = cumulative.findIndex((edge) => edge > position);
    if (index === -1) index = cumulative.length - 1;
    assign(rpcNames[index], layer);
  }

  return {
    ...map,
    layerRangesDerived: true,
    devices: map.devices.map((d) => ({ ...d, layerRanges: ranges.get(d.device) ?? [] })),
  };
}
