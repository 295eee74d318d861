// Runs the wasm package off the main thread, so feature extraction and training never freeze
// the page. Each request is {id, method, args}; the reply is {id, result} or {id, error},
// with {id, progress} messages in between. `fatal` marks an error after which the module
// cannot be trusted (a trap in WebAssembly, or a lost WebGPU device), so the page must start a
// new worker. A {deviceLost} message reports a lost WebGPU device, also between calls.
//
// There are two packages: pkg has the WebGPU backend and a single-threaded CPU fallback, and
// pkg-cpu runs the CPU backend on a pool of workers. `start`, always the first request, loads
// the one the backend needs.

/** The loaded package's JavaScript exports, and the WebAssembly instance's exports. */
let wasm = null;
let instance = null;
let session = null;
/** Set by a `stop` request; the running training run ends after its current batch. */
let stopRequested = false;

// Burn requests its WebGPU device inside the wasm module, so this wrapper is the only place
// where the worker can catch a failed request and watch the device for loss. On a lost
// device, Burn 0.22 (cubecl-wgpu 0.11) fails the next read with "the staging buffer could not
// be mapped", which does not name the cause, so the worker reports the loss itself.
/** The error of the last failed device request, to name it in the fallback reason. */
let deviceRequestError = null;
/** The reason the WebGPU device was lost, once it was. */
let deviceLoss = null;
const lost = Promise.withResolvers();

if (self.GPUAdapter) {
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    let device;
    try {
      device = await requestDevice.apply(this, args);
    } catch (error) {
      deviceRequestError = error;
      throw error;
    }
    device.lost.then(({ reason, message }) => {
      deviceLoss = `the WebGPU device was lost (${message || reason || 'no reason given'})`;
      lost.resolve();
      self.postMessage({ deviceLost: deviceLoss });
    });
    return device;
  };
}

/**
 * How long a failed call on the WebGPU backend waits for a device loss to be reported before
 * it returns its own error. The loss and the failed read reach the worker separately.
 */
// NOTE: an estimate. A loss reported later makes the page show the read error first and
// restart on the CPU only when the report arrives, without running the failed work again.
const LOSS_WAIT_MS = 1000;

const asset = (path) => new URL(`../${path}`, import.meta.url);

/** Loads and instantiates one package; `pkg-cpu` also starts its thread pool. */
async function loadPackage(name) {
  const module = await import(`../${name}/catvnoncat.js`);
  instance = await module.default();
  if (name === 'pkg-cpu') await module.initThreadPool(threadCount());
  return module;
}

function threadCount() {
  return Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 8));
}

/** Returns why the threaded CPU package cannot run here, or null when it can. */
function threadsProblem() {
  if (!self.crossOriginIsolated || typeof SharedArrayBuffer !== 'function') {
    return 'the page is not cross-origin isolated, so the CPU backend runs on one thread';
  }
  return null;
}

/** Loads the package for the CPU backend: the threaded one when it can, else pkg. */
async function loadCpuPackage() {
  const problem = threadsProblem();
  if (problem) return { module: await loadPackage('pkg'), threads: 1, problem };
  try {
    return { module: await loadPackage('pkg-cpu'), threads: threadCount(), problem: null };
  } catch (error) {
    console.error('the threaded CPU package failed to start:', error);
    return { module: await loadPackage('pkg'), threads: 1, problem: `the threaded CPU package failed to start (${error.message}), so the CPU backend runs on one thread` };
  }
}

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

function requirePackage() {
  if (!wasm) throw new Error('the model is not started; the page must send start first');
  return wasm;
}

function requireSession() {
  if (!session) throw new Error('the model is not started yet');
  return session;
}

const handlers = {
  async start(report, backend) {
    if (wasm) throw new Error('the model is already started; a new worker is needed to change the backend');
    const unavailable = backend === 'cpu' ? null : await webgpuProblem();
    let threads = 1;
    let problem = null;
    if (backend === 'cpu' || unavailable) {
      ({ module: wasm, threads, problem } = await loadCpuPackage());
      session = await wasm.createSession(backend, unavailable);
    } else {
      wasm = await loadPackage('pkg');
      session = await wasm.createSession(backend, unavailable);
      threads = null;
    }

    let fallbackReason = session.fallbackReason ?? null;
    if (session.backend === 'cpu' && deviceRequestError) {
      // The wasm module's message contains the JavaScript stack, so the page shows the error's own text.
      fallbackReason = `the WebGPU device could not be created (${deviceRequestError.name}: ${deviceRequestError.message}); using the CPU backend`;
    }
    if (session.backend === 'cpu' && threads === null) {
      // WebGPU failed inside pkg, whose CPU backend has one thread: move to the CPU package.
      session.free();
      ({ module: wasm, threads, problem } = await loadCpuPackage());
      session = await wasm.createSession('cpu', null);
    }
    const reasons = [fallbackReason, problem].filter(Boolean);
    return { backend: session.backend, fallbackReason: reasons.length ? reasons.join('; ') : null, threads };
  },
  async loadWeights(report) {
    const path = 'weights/vgg16_notop_f16.safetensors';
    const bytes = await download(path, report);
    requireSession().loadWeights(bytes, path);
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
  wasmMemoryBytes() {
    if (!instance) throw new Error('the model is not started; the page must send start first');
    return instance.memory.buffer.byteLength;
  },
  defaultConfig() {
    return requirePackage().defaultConfig();
  },
  summary(report, config) {
    return requirePackage().summary(config);
  },
};

self.onmessage = async ({ data: { id, method, args } }) => {
  const report = (kind, done, total, detail) => self.postMessage({ id, progress: { kind, done, total, detail } });
  try {
    const handler = handlers[method];
    if (!handler) throw new Error(`unknown method ${method}`);
    const result = await handler(report, ...args);
    self.postMessage({ id, result });
  } catch (error) {
    // A call can fail on a lost device before `device.lost` settles, so wait up to LOSS_WAIT_MS for it.
    if (session?.backend === 'webgpu') await Promise.race([lost.promise, new Promise((resolve) => setTimeout(resolve, LOSS_WAIT_MS))]);
    if (deviceLoss) {
      console.error(`request ${id} (${method}) failed after ${deviceLoss}:`, error);
      self.postMessage({ id, error: deviceLoss, fatal: true });
      return;
    }
    const fatal = error instanceof WebAssembly.RuntimeError;
    console.error(`request ${id} (${method}) failed${fatal ? ' with a WebAssembly trap' : ''}:`, error);
    self.postMessage({ id, error: error?.message ?? String(error), fatal });
  }
};
