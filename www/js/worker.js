// Runs the wasm package off the main thread, so feature extraction and training never freeze
// the page. Each request is {id, method, args}; the reply is {id, result} or {id, error},
// with {id, progress} messages in between. `fatal` marks an error after which the module
// cannot be trusted (a trap in WebAssembly), so the page must start a new worker.
import init, { createSession, defaultConfig, summary } from '../pkg/catvnoncat.js';

const ready = init();
let session = null;
/** Set by a `stop` request; the running training run ends after its current batch. */
let stopRequested = false;

const asset = (path) => new URL(`../${path}`, import.meta.url);

async function webgpuProblem() {
  if (!('gpu' in navigator)) return 'this browser does not offer WebGPU (navigator.gpu is missing); using the CPU backend';
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return 'the browser found no WebGPU adapter; using the CPU backend';
  return null;
}

async function download(path, report) {
  const response = await fetch(asset(path));
  if (!response.ok) {
    throw new Error(`loading ${path} failed with HTTP ${response.status}; run ./build.sh to create it`);
  }
  const total = Number(response.headers.get('content-length')) || 0;
  const reader = response.body.getReader();
  const chunks = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    report('download', received, total);
  }
  const bytes = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

function requireSession() {
  if (!session) throw new Error('the model is not started yet');
  return session;
}

const handlers = {
  async start(report, backend) {
    const unavailable = backend === 'cpu' ? null : await webgpuProblem();
    session = await createSession(backend, unavailable);
    return { backend: session.backend, fallbackReason: session.fallbackReason ?? null };
  },
  async loadWeights(report) {
    const bytes = await download('weights/vgg16_notop.safetensors', report);
    requireSession().loadWeights(bytes);
    return { bytes: bytes.length };
  },
  async loadData(report) {
    const bytes = await download('data/catvnoncat.bin', report);
    return { ...requireSession().loadData(bytes), bytes: bytes.length };
  },
  images(report, split, indices) {
    return requireSession().images(split, Uint32Array.from(indices));
  },
  split(report, config) {
    return requireSession().split(config);
  },
  async extractFeatures(report, inputSize, batchSize) {
    await requireSession().extractFeatures(inputSize, batchSize, (done, total) => report('features', done, total));
  },
  async train(report, config) {
    stopRequested = false;
    return requireSession().train(
      config,
      (epoch, batch, batches) => {
        report('batch', batch, batches, { epoch, batches });
        return !stopRequested;
      },
      (epoch) => {
        report('epoch', epoch.epoch, config.training.epochs, epoch);
        return !stopRequested;
      },
    );
  },
  // Runs while `train` waits between batches, since the worker serves messages then.
  stop() {
    stopRequested = true;
  },
  evaluate(report, config) {
    return requireSession().evaluate(config);
  },
  classifyFile(report, bytes) {
    return requireSession().classifyFile(new Uint8Array(bytes));
  },
  classifyFrame(report, rgba, width, height) {
    return requireSession().classifyFrame(new Uint8Array(rgba), width, height);
  },
  async baseFeatures(report, start, count) {
    return Array.from(await requireSession().baseFeatures(start, count));
  },
  async saveHead() {
    return requireSession().saveHead();
  },
  loadHead(report, bytes, name, expected) {
    return requireSession().loadHead(new Uint8Array(bytes), name, expected);
  },
  // Read-only: the size of the module's linear memory, which the long-session tests watch.
  async wasmMemoryBytes() {
    return (await ready).memory.buffer.byteLength;
  },
  defaultConfig() {
    return defaultConfig();
  },
  summary(report, config) {
    return summary(config);
  },
};

self.onmessage = async ({ data: { id, method, args } }) => {
  const report = (kind, done, total, detail) => self.postMessage({ id, progress: { kind, done, total, detail } });
  try {
    await ready;
    const handler = handlers[method];
    if (!handler) throw new Error(`unknown method ${method}`);
    const result = await handler(report, ...args);
    self.postMessage({ id, result });
  } catch (error) {
    const fatal = error instanceof WebAssembly.RuntimeError;
    console.error(`request ${id} (${method}) failed${fatal ? ' with a WebAssembly trap' : ''}:`, error);
    self.postMessage({ id, error: error?.message ?? String(error), fatal });
  }
};
