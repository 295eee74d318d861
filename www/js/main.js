// Directs the workflow: start the model, load weights and data, split, build, compile, train,
// evaluate, keep and classify. One operation runs at a time; the controls are disabled
// meanwhile, except Stop during training.
import { Camera } from './camera.js';
import { RocChart, TrainingCurves } from './charts.js';
import * as evaluationView from './evaluation-view.js';
import * as headStore from './head-store.js';
import { ModelClient } from './model-client.js';
import * as modelView from './model-view.js';
import * as settings from './settings.js';
import * as ui from './ui.js';

const GRID_PAGE = 24;
const FEATURE_BATCH = 32;
const HEAD_FILE = 'catvnoncat-head.safetensors';

const params = new URLSearchParams(location.search);
const client = new ModelClient({ onFailure: (error) => recoverIdle(error) });
const camera = new Camera(ui.video);
const curves = new TrainingCurves(document.getElementById('loss-chart'), document.getElementById('accuracy-chart'));
const roc = new RocChart(document.getElementById('roc-chart'), document.getElementById('roc-auc'));

const state = {
  requestedBackend: params.get('backend') ?? 'auto',
  backend: null,
  weightsLoaded: false,
  data: null,
  split: null,
  /** Side of the input size the cached features were computed at, or null. */
  featuresSide: null,
  /** The current head: its file bytes and the settings it was made with. */
  head: null,
  lastResult: null,
  /** Number of results shown so far, so that the automated checks can wait for the next one. */
  resultCount: 0,
  /** The last classification of an upload or webcam frame, and how many were shown. */
  lastPrediction: null,
  predictionCount: 0,
  /** Number of webcam frames classified since the page loaded. */
  framesClassified: 0,
  /** Base cost at 64x64 and the extraction speed measured on this backend, for the cost hint. */
  speed: { flops: null, imagesPerSecond: null },
  grid: { view: 'train', first: 0 },
  busy: false,
};

/**
 * Runs one operation at a time and shows its error in the page. With `retry`, an operation that
 * a backend failure interrupted runs once more after the restart on the CPU backend.
 */
async function exclusive(work, { retry = false } = {}) {
  if (state.busy) {
    ui.showError('another operation is still running; wait for it to finish');
    return;
  }
  state.busy = true;
  ui.setBusy(true);
  ui.clearError();
  try {
    await work();
  } catch (error) {
    const restarted = await recover(error);
    if (restarted && retry) await runAgain(work);
  } finally {
    state.busy = false;
    ui.setBusy(false);
  }
}

async function runAgain(work) {
  ui.clearError();
  try {
    await work();
  } catch (error) {
    await recover(error);
  }
}

/**
 * Shows an error. After a fatal one, restarts the model on the CPU backend with the current
 * head, and resolves to whether the restart worked.
 */
async function recover(error) {
  ui.showError(error.message);
  console.error(error);
  if (!error.fatal) return false;

  const failed = `the ${state.backend ?? 'model'} backend failed (${error.message})`;
  const reason = `${failed}; restarted on the CPU backend`;
  try {
    await startModel('cpu', reason);
    ui.showError(reason);
    return true;
  } catch (restartError) {
    console.error(restartError);
    ui.showError(`${failed}, and restarting on the CPU failed too (${restartError.message}); reload the page`);
    return false;
  }
}

/**
 * Restarts the model after a failure reported outside a call, such as a device lost while
 * idle. The webcam loop and a running operation restart it themselves on their next call.
 */
async function recoverIdle(error) {
  while (state.busy) await new Promise((resolve) => setTimeout(resolve, 100));
  if (!client.running && !camera.running) await exclusive(() => Promise.reject(error));
}

async function startModel(backend, notice = null) {
  ui.setStatus('starting the model…');
  state.weightsLoaded = false;
  state.featuresSide = null;
  state.speed.imagesPerSecond = null;
  const started = await client.start(backend);
  state.backend = started.backend;
  state.requestedBackend = backend;
  ui.setBackend(started.backend, backend, started.threads);
  ui.showNotice(notice ?? started.fallbackReason);
  if (state.data) {
    state.data = null;
    await ensureData();
  }
  if (state.head) {
    await client.call('loadHead', [state.head.bytes.slice().buffer, 'the head trained before the restart', null]);
  }
  ui.setStatus('ready');
}

async function ensureWeights() {
  if (state.weightsLoaded) return;
  const started = performance.now();
  const result = await client.call('loadWeights', [], {
    onProgress: (kind, done, total) => ui.setProgress(`weights: ${(done / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB`, done, total),
  });
  state.weightsLoaded = true;
  ui.setStatus(`weights loaded (${(result.bytes / 1e6).toFixed(1)} MB in ${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

async function ensureData() {
  if (state.data) return;
  state.data = await client.call('loadData', [], {
    onProgress: (kind, done, total) => ui.setProgress(`data: ${(done / 1e6).toFixed(1)} MB`, done, total),
  });
  ui.showDataInfo(state.data);
  ui.setProgress('', 0, 1);
  await refreshSplit();
  await showGrid(state.grid.view, 0);
}

async function ensureFeatures(side) {
  if (state.featuresSide === side) return;
  const started = performance.now();
  let count = 0;
  await client.call('extractFeatures', [side, FEATURE_BATCH], {
    onProgress: (kind, done, total) => {
      count = done;
      const seconds = (performance.now() - started) / 1000;
      ui.setProgress(`features at ${side} x ${side}: ${done} of ${total} images (${(done / seconds).toFixed(1)} images/s)`, done, total);
    },
  });
  state.featuresSide = side;
  if (side === 64) {
    state.speed.imagesPerSecond = count / ((performance.now() - started) / 1000);
    await refreshSummary();
  }
}

async function train() {
  const config = settings.read();
  await ensureWeights();
  await ensureData();
  await ensureFeatures(config.input_size.width);

  ui.resetHistory();
  curves.reset();
  evaluationView.clear();
  ui.setTrainStatus('training…');
  ui.setTraining(true);
  const { epochs } = config.training;
  const started = performance.now();
  let result;
  try {
    result = await client.call('train', [config], {
      onProgress: (kind, done, total, detail) => {
        if (kind === 'batch') {
          const { epoch, batches } = detail;
          ui.setProgress(`training: epoch ${epoch} of ${epochs}, batch ${done} of ${batches}`, (epoch - 1) * batches + done, epochs * batches);
        } else {
          ui.addEpoch(detail);
          curves.add(detail);
        }
      },
    });
  } finally {
    ui.setTraining(false);
  }
  const seconds = (performance.now() - started) / 1000;
  const last = result.history.at(-1);
  const ended = result.stopped
    ? `stopped at epoch ${last.epoch}, batch ${last.batches_done} of ${last.batches}`
    : `${result.history.length} of ${epochs} epochs`;
  const kept = config.training.early_stopping_patience != null ? `; kept the weights of epoch ${result.kept_epoch}, the lowest validation loss` : '';
  const bytes = new Uint8Array(await client.call('saveHead'));
  await setHead(bytes, config, `trained in this tab on the ${state.backend} backend`);
  await showResult(result);
  // The status comes last, so that it announces a result that is already shown and stored.
  ui.setTrainStatus(`trained in ${seconds.toFixed(1)} s (${ended}${kept})`);
  ui.setStatus(`trained in ${seconds.toFixed(1)} s`);
}

/** Makes `bytes` the current head, keeps it in this browser and enables its download. */
async function setHead(bytes, config, origin) {
  state.head = { bytes, config };
  let where = 'kept in this browser';
  try {
    await headStore.keep(bytes, config, origin);
  } catch (error) {
    where = `not kept in this browser (${error.message}); download it to keep it`;
  }
  ui.setHeadAvailable(true, `Current head: ${origin}, ${(bytes.length / 1e6).toFixed(2)} MB, ${where}.`);
}

async function showResult(result) {
  state.lastResult = result;
  state.resultCount += 1;
  evaluationView.showMetrics(result.evaluation, settings.chosenMetrics());
  roc.show(result.roc, result.evaluation.all.roc_auc);
  const wrong = evaluationView.misclassifiedIndices(result.evaluation.probabilities, result.test_labels);
  const images = await client.call('images', ['test', wrong]);
  evaluationView.showMisclassified(wrong, images, result, state.data.classes);
}

async function evaluate() {
  if (!state.head) throw new Error('train or load a head first');
  await ensureWeights();
  await ensureData();
  await ensureFeatures(state.head.config.input_size.width);
  const result = await client.call('evaluate', [settings.read()]);
  await showResult(result);
}

async function loadHeadFile(file) {
  const config = settings.read();
  const bytes = new Uint8Array(await file.arrayBuffer());
  const loaded = await client.call('loadHead', [bytes.slice().buffer, file.name, config]);
  await setHead(bytes, { ...config, training: loaded.training ?? config.training }, `loaded from ${file.name}`);
  if (state.featuresSide === config.input_size.width) {
    const result = await client.call('evaluate', [config]);
    await showResult(result);
  } else {
    evaluationView.clear();
    ui.setStatus(`loaded the head from ${file.name}; press "Evaluate the current head" to score it`);
  }
}

/** Loads the head kept in this browser by an earlier visit, with the settings that made it. */
async function restoreKeptHead() {
  let record;
  try {
    record = await headStore.kept();
  } catch (error) {
    ui.showNotice(`this browser's storage is not available (${error.message}); trained heads are not kept across visits`);
    return;
  }
  if (!record) return;
  const bytes = new Uint8Array(record.bytes);
  try {
    await client.call('loadHead', [bytes.slice().buffer, 'the head kept in this browser', null]);
  } catch (error) {
    await headStore.forget();
    throw new Error(`${error.message}; it was removed from this browser, train a new head`);
  }
  settings.write(record.config);
  state.head = { bytes, config: record.config };
  ui.setHeadAvailable(true, `Current head: ${record.origin}, kept in this browser since ${new Date(record.savedAt).toLocaleString('en')}.`);
  ui.setStatus('restored the head kept in this browser');
}

async function refreshSummary() {
  const config = settings.read();
  const summary = await client.call('summary', [config]);
  modelView.showSummary(summary);
  if (state.speed.flops === null) {
    const at64 = await client.call('summary', [{ ...config, input_size: { height: 64, width: 64 } }]);
    state.speed.flops = at64.base_flops;
  }
  modelView.showInputCost(summary, state.speed);
}

async function refreshSplit() {
  const config = settings.read();
  state.split = await client.call('split', [config]);
  ui.showSplit(state.split);
  if (state.grid.view === 'validation' || state.grid.view === 'test-part') await showGrid(state.grid.view, 0);
}

/** Returns the split an image view draws from and the indices of its images. */
function gridIndices(view) {
  const range = (count) => Array.from({ length: count }, (_, index) => index);
  switch (view) {
    case 'train': return ['train', range(state.data.train_count)];
    case 'test': return ['test', range(state.data.test_count)];
    case 'validation': return ['test', state.split.validation_indices];
    default: return ['test', state.split.test_indices];
  }
}

async function showGrid(view, first) {
  if (!state.data) return;
  const [split, indices] = gridIndices(view);
  const lastPage = Math.max(0, Math.floor((indices.length - 1) / GRID_PAGE) * GRID_PAGE);
  const start = Math.max(0, Math.min(first, lastPage));
  const page = indices.slice(start, start + GRID_PAGE);
  const images = await client.call('images', [split, page]);
  state.grid = { view, first: start };
  ui.showGrid(images, page, state.data.classes, start, indices.length);
  ui.setGridPaging(start > 0, start < lastPage);
}

async function classifyFile(file) {
  await exclusive(async () => {
    if (!state.head) throw new Error('train or load a head before classifying images');
    await ensureWeights();
    ui.showPreview(file);
    const bytes = await file.arrayBuffer();
    const prediction = await client.call('classifyFile', [bytes], { transfer: [bytes] });
    showPrediction(prediction);
  }, { retry: true });
}

function showPrediction(prediction) {
  state.lastPrediction = prediction;
  state.predictionCount += 1;
  ui.setPrediction(prediction);
}

async function startCamera() {
  ui.clearError();
  try {
    await camera.start(() => {
      ui.setCameraRunning(false);
      ui.showError('the camera was stopped by the system; start it again, or upload an image');
    });
  } catch (error) {
    ui.showError(error.message);
    return;
  }
  ui.setCameraRunning(true);
  if (state.head && !state.weightsLoaded) await exclusive(ensureWeights);
  classifyFrames();
}

async function classifyFrames() {
  const times = [];
  while (camera.running) {
    if (state.busy || !state.head || !state.weightsLoaded) {
      if (!state.head) ui.setPrediction(null);
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    const started = performance.now();
    const side = state.head.config.input_size.width;
    const rgba = camera.frame(side);
    try {
      const prediction = await client.call('classifyFrame', [rgba.buffer, side, side], { transfer: [rgba.buffer] });
      showPrediction(prediction);
      state.framesClassified += 1;
    } catch (error) {
      if (error.fatal && await restartForCamera(error)) continue;
      camera.stop();
      ui.setCameraRunning(false);
      // After a fatal error the page already shows why the restart failed.
      if (!error.fatal) ui.showError(error.message);
      return;
    }
    const elapsed = performance.now() - started;
    times.push(elapsed);
    if (times.length > 30) times.shift();
    const mean = times.reduce((sum, value) => sum + value, 0) / times.length;
    ui.setFps(1000 / mean, elapsed);
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
}

/**
 * Restarts the model on the CPU backend after a fatal error while classifying webcam frames,
 * so that the webcam keeps running. Resolves to whether the model runs again.
 */
async function restartForCamera(error) {
  if (state.busy) {
    // An operation that started meanwhile met the same failure and restarts the model itself.
    while (state.busy) await new Promise((resolve) => setTimeout(resolve, 100));
    return client.running;
  }
  await exclusive(async () => {
    if (!await recover(error)) return;
    if (state.head) await ensureWeights();
  });
  return client.running && state.weightsLoaded;
}

function showError(error) {
  ui.showError(error.message);
}

async function boot() {
  ui.bind({
    train: () => exclusive(train, { retry: true }),
    stop: () => client.call('stop').catch(showError),
    evaluate: () => exclusive(evaluate, { retry: true }),
    exportSettings: () => {
      try {
        headStore.download(JSON.stringify(settings.read(), null, 2), 'catvnoncat-settings.json', 'application/json');
      } catch (error) {
        showError(error);
      }
    },
    resetSettings: () => exclusive(async () => {
      settings.write(await client.call('defaultConfig'));
      await refreshSummary();
      await refreshSplit();
    }),
    downloadHead: () => {
      if (state.head) headStore.download(state.head.bytes, HEAD_FILE);
    },
    loadHead: (file) => exclusive(() => loadHeadFile(file)),
    forgetHead: () => headStore.forget()
      .then(() => ui.setHeadAvailable(Boolean(state.head), 'Nothing is kept in this browser now; the current head stays until the page is closed.'))
      .catch(showError),
    changeBackend: (backend) => exclusive(() => startModel(backend)),
    classifyFile,
    startCamera,
    stopCamera: () => {
      camera.stop();
      ui.setCameraRunning(false);
    },
    showGrid: (view, first) => exclusive(async () => {
      await ensureData();
      await showGrid(view, first);
    }),
    pageGrid: (direction) => exclusive(async () => {
      await ensureData();
      await showGrid(state.grid.view, state.grid.first + direction * GRID_PAGE);
    }),
  });
  settings.bind({
    onChange: () => {
      ui.clearError();
      refreshSummary().catch(showError);
    },
    onSplitChange: () => {
      if (state.data) refreshSplit().catch(showError);
    },
  });

  await exclusive(async () => {
    await startModel(state.requestedBackend);
    settings.write(await client.call('defaultConfig'));
    await restoreKeptHead();
    const epochs = Number(params.get('epochs'));
    if (Number.isInteger(epochs) && epochs > 0) settings.setEpochs(epochs);
    await refreshSummary();
    await ensureData();
  });
}

// The automated tests drive the page through its controls and read these few values.
window.catvnoncat = {
  ensureWeights: () => ensureWeights(),
  baseFeatures: (start, count) => client.call('baseFeatures', [start, count]),
  wasmMemoryBytes: () => client.call('wasmMemoryBytes'),
  get backend() {
    return state.backend;
  },
  get lastResult() {
    return state.lastResult;
  },
  get resultCount() {
    return state.resultCount;
  },
  get lastPrediction() {
    return state.lastPrediction;
  },
  get predictionCount() {
    return state.predictionCount;
  },
  get curvePoints() {
    return curves.points;
  },
  get framesClassified() {
    return state.framesClassified;
  },
};

boot();
