// The only module that touches the DOM: element lookups, getters for the settings and setters
// for what the page shows.

const $ = (id) => document.getElementById(id);

const elements = {
  backend: $('backend'), backendChoice: $('backend-choice'), status: $('status'), notice: $('notice'), error: $('error'),
  dataInfo: $('data-info'), grid: $('grid'), gridSplit: $('grid-split'), gridPrev: $('grid-prev'), gridNext: $('grid-next'), gridPage: $('grid-page'),
  epochs: $('epochs'), learningRate: $('learning-rate'), optimizer: $('optimizer'), validationFraction: $('validation-fraction'),
  summary: $('summary'), totalParams: $('total-params'), trainableParams: $('trainable-params'),
  train: $('train'), progress: $('progress'), progressText: $('progress-text'), history: $('history'),
  testAccuracy: $('test-accuracy'), metrics: $('metrics'), confusion: $('confusion-matrix'),
  upload: $('upload'), dropZone: $('drop-zone'), cameraStart: $('camera-start'), cameraStop: $('camera-stop'),
  fps: $('fps'), video: $('video'), preview: $('preview'), prediction: $('prediction'),
};

export const video = elements.video;

const percent = (value) => `${(value * 100).toFixed(1)}%`;

export function bind(handlers) {
  elements.train.addEventListener('click', handlers.train);
  elements.backendChoice.addEventListener('change', () => handlers.changeBackend(elements.backendChoice.value));
  elements.upload.addEventListener('change', () => {
    const file = elements.upload.files[0];
    if (file) handlers.classifyFile(file);
    elements.upload.value = '';
  });
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
  for (const input of [elements.epochs, elements.learningRate, elements.optimizer, elements.validationFraction]) {
    input.addEventListener('change', handlers.settingsChanged);
  }
}

export function settings() {
  const number = (input) => (input.value.trim() === '' ? NaN : Number(input.value));
  return {
    epochs: number(elements.epochs),
    epochsText: elements.epochs.value,
    learningRate: number(elements.learningRate),
    learningRateText: elements.learningRate.value,
    optimizer: elements.optimizer.value,
    validationFraction: number(elements.validationFraction),
    validationFractionText: elements.validationFraction.value,
  };
}

export function setEpochs(epochs) {
  elements.epochs.value = String(epochs);
}

export function setBackend(name, requested) {
  elements.backend.textContent = name;
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
  elements.train.disabled = busy;
  elements.backendChoice.disabled = busy;
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
    `Classes: ${info.classes.join(', ')}. Training: ${info.train_count} images (${trainCats} cats, ${trainNonCats} non-cats). ` +
    `Test: ${info.test_count} images (${testCats} cats, ${testNonCats} non-cats), split into validation and test parts when training.`;
}

export function showGrid(images, classes, first, total) {
  elements.grid.replaceChildren();
  const { size, labels, pixels } = images;
  labels.forEach((label, index) => {
    const canvas = document.createElement('canvas');
    canvas.width = size;
    canvas.height = size;
    const rgba = new ImageData(size, size);
    for (let pixel = 0; pixel < size * size; pixel++) {
      const source = (index * size * size + pixel) * 3;
      rgba.data.set([pixels[source], pixels[source + 1], pixels[source + 2], 255], pixel * 4);
    }
    canvas.getContext('2d').putImageData(rgba, 0, 0);
    const figure = document.createElement('figure');
    const caption = document.createElement('figcaption');
    caption.textContent = `#${first + index}: ${classes[label]}`;
    figure.append(canvas, caption);
    elements.grid.append(figure);
  });
  elements.gridPage.textContent = `images ${first}–${first + labels.length - 1} of ${total}`;
}

export function setGridPaging(hasPrevious, hasNext) {
  elements.gridPrev.disabled = !hasPrevious;
  elements.gridNext.disabled = !hasNext;
}

export function showSummary(summary) {
  const header = '<tr><th>Layer (type)</th><th>Output shape</th><th>Param #</th><th>Trainable</th></tr>';
  const rows = summary.layers.map((layer) =>
    `<tr class="${layer.trainable ? '' : 'frozen'}"><td>${layer.name} (${layer.kind})</td>` +
    `<td>(None, ${layer.output_shape.join(', ')})</td><td>${layer.params.toLocaleString('en')}</td>` +
    `<td>${layer.trainable ? 'yes' : 'no'}</td></tr>`);
  elements.summary.innerHTML = header + rows.join('');
  // Plain integers, as the page's contract for automated checks requires.
  elements.totalParams.textContent = String(summary.total_params);
  elements.trainableParams.textContent = String(summary.trainable_params);
}

export function resetHistory() {
  elements.history.innerHTML = '<tr><th>Epoch</th><th>Loss</th><th>Accuracy</th><th>Val. loss</th><th>Val. accuracy</th></tr>';
}

export function addEpoch(report) {
  const row = document.createElement('tr');
  const cells = [report.epoch, report.train_loss.toFixed(4), percent(report.train_accuracy),
    report.validation_loss?.toFixed(4) ?? '–', report.validation_accuracy == null ? '–' : percent(report.validation_accuracy)];
  for (const value of cells) {
    const cell = document.createElement('td');
    cell.textContent = String(value);
    row.append(cell);
  }
  elements.history.append(row);
}

export function showEvaluation(evaluation) {
  const { all, validation, test } = evaluation;
  elements.testAccuracy.textContent = percent(all.accuracy);
  elements.metrics.textContent =
    `Validation (${validation.count} images): ${percent(validation.accuracy)}. Test part (${test.count} images): ${percent(test.accuracy)}. ` +
    `All 50: precision ${all.precision.toFixed(3)}, recall ${all.recall.toFixed(3)}, F1 ${all.f1.toFixed(3)}, ROC AUC ${all.roc_auc?.toFixed(3) ?? 'n/a'}.`;
  const c = all.confusion;
  elements.confusion.innerHTML =
    '<tr><th>actual \\ predicted</th><th>non-cat</th><th>cat</th></tr>' +
    `<tr><th>non-cat</th><td>${c.true_negatives}</td><td>${c.false_positives}</td></tr>` +
    `<tr><th>cat</th><td>${c.false_negatives}</td><td>${c.true_positives}</td></tr>`;
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
