// The page's general views: status, errors, progress, the data grid, the split, the training
// table, the head controls and classification. The settings form, the model views, the charts
// and the evaluation have modules of their own.
import { imageFigure } from './figures.js';

const $ = (id) => document.getElementById(id);

const elements = {
  backend: $('backend'), threads: $('threads'), backendChoice: $('backend-choice'), status: $('status'), notice: $('notice'), error: $('error'),
  progress: $('progress'), progressText: $('progress-text'),
  dataInfo: $('data-info'), grid: $('grid'), gridSplit: $('grid-split'), gridPrev: $('grid-prev'), gridNext: $('grid-next'), gridPage: $('grid-page'),
  splitInfo: $('split-info'),
  exportSettings: $('export-settings'), resetSettings: $('reset-settings'),
  train: $('train'), stop: $('stop'), trainStatus: $('train-status'), history: $('history'), evaluate: $('evaluate'),
  headDownload: $('head-download'), headUpload: $('head-upload'), headForget: $('head-forget'), headInfo: $('head-info'),
  upload: $('upload'), dropZone: $('drop-zone'), cameraStart: $('camera-start'), cameraStop: $('camera-stop'),
  fps: $('fps'), video: $('video'), preview: $('preview'), prediction: $('prediction'),
};

export const video = elements.video;

const percent = (value) => `${(value * 100).toFixed(1)}%`;

function onFile(input, handler) {
  input.addEventListener('change', () => {
    const file = input.files[0];
    if (file) handler(file);
    input.value = '';
  });
}

export function bind(handlers) {
  elements.train.addEventListener('click', handlers.train);
  elements.stop.addEventListener('click', handlers.stop);
  elements.evaluate.addEventListener('click', handlers.evaluate);
  elements.exportSettings.addEventListener('click', handlers.exportSettings);
  elements.resetSettings.addEventListener('click', handlers.resetSettings);
  elements.headDownload.addEventListener('click', handlers.downloadHead);
  elements.headForget.addEventListener('click', handlers.forgetHead);
  onFile(elements.headUpload, handlers.loadHead);
  elements.backendChoice.addEventListener('change', () => handlers.changeBackend(elements.backendChoice.value));
  onFile(elements.upload, handlers.classifyFile);
  elements.dropZone.addEventListener('dragover', (event) => {
    event.preventDefault();
    elements.dropZone.classList.add('over');
  });
  elements.dropZone.addEventListener('dragleave', () => elements.dropZone.classList.remove('over'));
  elements.dropZone.addEventListener('drop', (event) => {
    event.preventDefault();
    elements.dropZone.classList.remove('over');
    const file = event.dataTransfer.files[0];
    if (file) handlers.classifyFile(file);
  });
  elements.cameraStart.addEventListener('click', handlers.startCamera);
  elements.cameraStop.addEventListener('click', handlers.stopCamera);
  elements.gridSplit.addEventListener('change', () => handlers.showGrid(elements.gridSplit.value, 0));
  elements.gridPrev.addEventListener('click', () => handlers.pageGrid(-1));
  elements.gridNext.addEventListener('click', () => handlers.pageGrid(1));
}

/** `threads` is the CPU backend's thread count, or null on WebGPU. */
export function setBackend(name, requested, threads) {
  elements.backend.textContent = name;
  elements.threads.textContent = threads ? `(${threads} ${threads === 1 ? 'thread' : 'threads'})` : '';
  elements.backendChoice.value = requested;
}

export function setStatus(text) {
  elements.status.textContent = text;
}

export function showNotice(text) {
  elements.notice.textContent = text ?? '';
  elements.notice.hidden = !text;
}

export function showError(text) {
  elements.error.textContent = text;
}

export function clearError() {
  elements.error.textContent = '';
}

export function setBusy(busy) {
  for (const control of [elements.train, elements.evaluate, elements.backendChoice, elements.headUpload, elements.resetSettings]) {
    control.disabled = busy;
  }
}

export function setTraining(training) {
  elements.stop.disabled = !training;
}

export function setProgress(label, done, total) {
  elements.progress.max = total || 1;
  elements.progress.value = done;
  elements.progressText.textContent = label;
}

export function showDataInfo(info) {
  const [trainNonCats, trainCats] = info.train_class_counts;
  const [testNonCats, testCats] = info.test_class_counts;
  elements.dataInfo.textContent =
    `Classes from the data file: ${info.classes.join(', ')}. Training: ${info.train_count} images (${trainCats} cats, ${trainNonCats} non-cats). ` +
    `Test: ${info.test_count} images (${testCats} cats, ${testNonCats} non-cats), split into validation and test parts below.`;
}

export function showSplit(split) {
  const [validationNonCats, validationCats] = split.validation_class_counts;
  const [testNonCats, testCats] = split.test_class_counts;
  elements.splitInfo.textContent =
    `Validation part: ${split.validation_indices.length} images (${validationCats} cats, ${validationNonCats} non-cats). ` +
    `Test part: ${split.test_indices.length} images (${testCats} cats, ${testNonCats} non-cats).`;
}

/** Shows a page of a view of the data; `numbers` are the images' indices in their split. */
export function showGrid(images, numbers, classes, first, total) {
  elements.grid.replaceChildren(...numbers.map((number, index) =>
    imageFigure(images.pixels, index, images.size, `#${number}: ${classes[images.labels[index]]}`)));
  elements.gridPage.textContent = total === 0 ? 'no images' : `images ${first + 1}–${first + numbers.length} of ${total}`;
}

export function setGridPaging(hasPrevious, hasNext) {
  elements.gridPrev.disabled = !hasPrevious;
  elements.gridNext.disabled = !hasNext;
}

export function setTrainStatus(text) {
  elements.trainStatus.textContent = text;
}

export function resetHistory() {
  elements.history.replaceChildren();
  const header = elements.history.insertRow();
  for (const title of ['Epoch', 'Loss', 'Accuracy', 'Val. loss', 'Val. accuracy', 'Batches']) {
    header.append(Object.assign(document.createElement('th'), { textContent: title }));
  }
}

export function addEpoch(report) {
  const cells = [report.epoch, report.train_loss.toFixed(4), percent(report.train_accuracy),
    report.validation_loss?.toFixed(4) ?? '–', report.validation_accuracy == null ? '–' : percent(report.validation_accuracy),
    `${report.batches_done} of ${report.batches}`];
  const row = elements.history.insertRow();
  for (const value of cells) row.insertCell().textContent = String(value);
}

export function setHeadAvailable(available, info) {
  elements.headDownload.disabled = !available;
  elements.headInfo.textContent = info;
}

export function showPreview(file) {
  if (elements.preview.src) URL.revokeObjectURL(elements.preview.src);
  elements.preview.src = URL.createObjectURL(file);
  elements.preview.hidden = false;
}

export function setPrediction(prediction) {
  elements.prediction.textContent = prediction
    ? `${prediction.class} (${percent(prediction.cat_probability)} cat)`
    : '–';
}

export function setCameraRunning(running) {
  elements.cameraStart.disabled = running;
  elements.cameraStop.disabled = !running;
  elements.video.hidden = !running;
  if (!running) elements.fps.textContent = '';
}

export function setFps(framesPerSecond, milliseconds) {
  elements.fps.textContent = `${framesPerSecond.toFixed(1)} frames/s, ${milliseconds.toFixed(0)} ms per frame`;
}
