// The page's only link to the model: starts the worker and turns its messages into promises.

export class ModelClient {
  constructor() {
    this.worker = null;
    this.pending = new Map();
    this.nextId = 1;
  }

  /** Starts a new worker on `backend` and resolves to {backend, fallbackReason}. */
  async start(backend) {
    this.stop();
    this.worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    this.worker.onmessage = ({ data }) => this.receive(data);
    this.worker.onerror = (event) => {
      event.preventDefault();
      this.failAll(`the model worker stopped: ${event.message || 'unknown error'}`);
    };
    return this.call('start', [backend]);
  }

  stop() {
    if (this.worker) this.worker.terminate();
    this.worker = null;
    this.failAll('the model was restarted');
  }

  /** Calls a worker method; `onProgress(kind, done, total, detail)` receives progress. */
  call(method, args = [], { onProgress, transfer = [] } = {}) {
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
    for (const { reject } of this.pending.values()) {
      const failure = new Error(message);
      failure.fatal = true;
      reject(failure);
    }
    this.pending.clear();
  }
}
