// The page's only link to the model: starts the worker and turns its messages into promises.

/** Returns an error after which the worker cannot be used, so the page must start a new one. */
function fatalError(message) {
  const error = new Error(message);
  error.fatal = true;
  return error;
}

export class ModelClient {
  /** `onFailure(error)` runs when the worker stops or reports that its WebGPU device was lost. */
  constructor({ onFailure = () => {} } = {}) {
    this.worker = null;
    this.pending = new Map();
    this.nextId = 1;
    this.onFailure = onFailure;
    /** Set when the worker was stopped because of an error; later calls reject with it. */
    this.failure = null;
  }

  /** Starts a new worker on `backend` and resolves to {backend, fallbackReason}. */
  async start(backend) {
    this.stop();
    const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    this.worker = worker;
    // A message that a stopped worker sent before it stopped must not fail its successor.
    worker.onmessage = ({ data }) => {
      if (worker !== this.worker) return;
      if (data.deviceLost !== undefined) this.fail(data.deviceLost);
      else this.receive(data);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      if (worker === this.worker) this.fail(`the model worker stopped: ${event.message || 'unknown error'}`);
    };
    return this.call('start', [backend]);
  }

  stop() {
    if (this.worker) this.worker.terminate();
    this.worker = null;
    this.failure = null;
    this.failAll('the model was restarted');
  }

  /** Whether a worker is running and has not failed. */
  get running() {
    return this.worker !== null;
  }

  /**
   * Stops a worker that can no longer be trusted: its pending and later calls reject with a
   * fatal error until `start` runs again.
   */
  fail(message) {
    if (!this.worker) return;
    this.worker.terminate();
    this.worker = null;
    this.failure = message;
    this.failAll(message);
    this.onFailure(fatalError(message));
  }

  /** Calls a worker method; `onProgress(kind, done, total, detail)` receives progress. */
  call(method, args = [], { onProgress, transfer = [] } = {}) {
    if (this.failure) return Promise.reject(fatalError(this.failure));
    if (!this.worker) return Promise.reject(new Error('the model is not started'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ id, method, args }, transfer);
    });
  }

  receive({ id, result, error, fatal, progress }) {
    const request = this.pending.get(id);
    if (!request) return;
    if (progress) {
      request.onProgress?.(progress.kind, progress.done, progress.total, progress.detail);
      return;
    }
    this.pending.delete(id);
    if (error !== undefined) {
      const failure = new Error(error);
      failure.fatal = Boolean(fatal);
      request.reject(failure);
    } else {
      request.resolve(result);
    }
  }

  failAll(message) {
    for (const { reject } of this.pending.values()) reject(fatalError(message));
    this.pending.clear();
  }
}
