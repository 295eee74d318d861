// Directs the workflow: start the model, load weights and data, compute features, train,
// evaluate, classify. One operation runs at a time; the controls are disabled meanwhile.
import { Camera } from './camera.js';
import { ModelClient } from './model-client.js';
import * as ui from './ui.js';

const GRID_PAGE = 24;
const FEATURE_BATCH = 32;

const params = new URLSearchParams(location.search);
const client = new ModelClient();
const camera = new Camera(ui.video);

const state = {
  requestedBackend: params.get('backend') ?? 'auto',
  backend: null,
  weightsLoaded: false,
  data: null,
  featuresReady: false,
  trained: false,
  headBytes: null,
  grid: { split: 'train', first: 0 },
  busy: false,
};

/** Checks the page's settings and throws an error that names the field and its range. */
function checkSettings(settings) {
  if (!Number.isInteger(settings.epochs) || settings.epochs < 1 || settings.epochs > 1000) {
    throw new Error(`Epochs must be a whole number from 1 to 1000, got ${settings.epochsText || 'nothing'}`);
  }
  if (!(settings.learningRate > 0 && settings.learningRate <= 10)) {
    throw new Error(`Learning rate must be above 0 and at most 10, got ${settings.learningRateText || 'nothing'}`);
  }
  if (!(settings.validationFraction > 0 && settings.validationFraction < 1)) {
    throw new Error(`Validation fraction must be above 0 and below 1, got ${settings.validationFractionText || 'nothing'}`);
  }
}

function config() {
  const settings = ui.settings();
  checkSettings(settings);
  return {
    input_size: { height: 64, width: 64 },
    head: { pooling: 'flatten', dense: [{ units: 256, activation: 'relu' }], dropout: 0.5, output: 'sigmoid' },
    training: {
      optimizer: settings.optimizer, learning_rate: settings.learningRate, momentum: 0.9,
      batch_size: 32, epochs: settings.epochs, seed: 42, early_stopping_patience: null,
    },
    validation_fraction: settings.validationFraction,
    split_seed: 42,
  };
}

/** Runs one operation at a time and shows its error in the page. */
async function exclusive(work) {
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
    await recover(error);
  } finally {
    state.busy = false;
    ui.setBusy(false);
  }
}

/** Shows an error; after a fatal one, restarts the model on the CPU backend keeping the head. */
async function recover(error) {
  ui.showError(error.message);
  console.error(error);
  if (!error.fatal) return;

  const reason = `the ${state.backend ?? 'model'} backend failed (${error.message}); restarted on the CPU backend`;
  try {
    await startModel('cpu', reason);
    ui.showError(reason);
  } catch (restartError) {
    console.error(restartError);
    ui.showError(`the ${state.backend ?? 'model'} backend failed (${error.message}), and restarting on the CPU failed too ` +
      `(${restartError.message}); reload the page`);
  }
}

async function startModel(backend, notice = null) {
  ui.setStatus('starting the model…');
  state.weightsLoaded = false;
  state.featuresReady = false;
  state.trained = false;
  const started = await client.start(backend);
  state.backend = started.backend;
  state.requestedBackend = backend;
  ui.setBackend(started.backend, backend);
  ui.showNotice(notice ?? started.fallbackReason);
  if (state.data) {
    state.data = null;
    await ensureData();
  }
  if (state.headBytes) {
    await ensureWeights();
    await client.call('loadHead', [state.headBytes.slice().buffer, 'the head trained before the restart']);
    state.trained = true;
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
  await showGrid(state.grid.split, 0);
}

async function ensureFeatures() {
  if (state.featuresReady) return;
  const started = performance.now();
  await client.call('extractFeatures', [64, FEATURE_BATCH], {
    onProgress: (kind, done, total) => {
      const seconds = (performance.now() - started) / 1000;
      ui.setProgress(`features: ${done} of ${total} images (${(done / seconds).toFixed(1)} images/s)`, done, total);
    },
  });
  state.featuresReady = true;
}

async function train() {
  await ensureWeights();
  await ensureData();
  await ensureFeatures();

  const run = config();
  ui.resetHistory();
  const started = performance.now();
  const result = await client.call('train', [run], {
    onProgress: (kind, done, total, report) => {
      ui.setProgress(`epoch ${done} of ${total}`, done, total);
      ui.addEpoch(report);
    },
  });
  const seconds = (performance.now() - started) / 1000;
  state.trained = true;
  ui.showEvaluation(result.evaluation);
  ui.setStatus(`trained in ${seconds.toFixed(1)} s`);
  state.headBytes = await client.call('saveHead');
}

async function showGrid(split, first) {
  if (!state.data) return;
  const total = split === 'train' ? state.data.train_count : state.data.test_count;
  const lastPage = Math.floor((total - 1) / GRID_PAGE) * GRID_PAGE;
  const start = Math.max(0, Math.min(first, lastPage));
  const images = await client.call('images', [split, start, GRID_PAGE]);
  state.grid = { split, first: start };
  ui.showGrid(images, state.data.classes, start, total);
  ui.setGridPaging(start > 0, start < lastPage);
}

async function classifyFile(file) {
  await exclusive(async () => {
    if (!state.trained) throw new Error('train the model before classifying images');
    ui.showPreview(file);
    const bytes = await file.arrayBuffer();
    const prediction = await client.call('classifyFile', [bytes], { transfer: [bytes] });
    ui.setPrediction(prediction);
  });
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
  classifyFrames();
}

async function classifyFrames() {
  const times = [];
  while (camera.running) {
    if (state.busy || !state.trained) {
      if (!state.trained) ui.setPrediction(null);
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    const started = performance.now();
    const rgba = camera.frame(64);
    try {
      const prediction = await client.call('classifyFrame', [rgba.buffer, 64, 64], { transfer: [rgba.buffer] });
      ui.setPrediction(prediction);
    } catch (error) {
      camera.stop();
      ui.setCameraRunning(false);
      await recover(error);
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

async function refreshSummary() {
  const summary = await client.call('summary', [config()]);
  ui.showSummary(summary);
}

async function boot() {
  ui.bind({
    train: () => exclusive(train),
    changeBackend: (backend) => exclusive(() => startModel(backend)),
    classifyFile,
    startCamera,
    stopCamera: () => {
      camera.stop();
      ui.setCameraRunning(false);
    },
    showGrid: (split, first) => exclusive(async () => {
      await ensureData();
      await showGrid(split, first);
    }),
    pageGrid: (direction) => exclusive(async () => {
      await ensureData();
      await showGrid(state.grid.split, state.grid.first + direction * GRID_PAGE);
    }),
    settingsChanged: () => {
      ui.clearError();
      refreshSummary().catch((error) => ui.showError(error.message));
    },
  });
  const epochs = Number(params.get('epochs'));
  if (Number.isInteger(epochs) && epochs > 0) ui.setEpochs(epochs);

  await exclusive(async () => {
    await startModel(state.requestedBackend);
    await refreshSummary();
    await ensureData();
  });
}

// The automated tests drive the page through its controls and read these few values.
window.catvnoncat = {
  ensureWeights: () => ensureWeights(),
  baseFeatures: (start, count) => client.call('baseFeatures', [start, count]),
  get backend() {
    return state.backend;
  },
};

boot();
