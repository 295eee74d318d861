// The evaluation step's views: metrics per part of the split, accuracy per class, the
// confusion matrix and the gallery of misclassified test images.
import { imageFigure } from './figures.js';

const METRIC_NAMES = { accuracy: 'accuracy', precision: 'precision', recall: 'recall', f1: 'F1', roc_auc: 'ROC AUC' };

const testAccuracy = document.getElementById('test-accuracy');
const metricsTable = document.getElementById('metrics');
const confusion = document.getElementById('confusion-matrix');
const gallery = document.getElementById('misclassified');

const percent = (value) => `${(value * 100).toFixed(1)}%`;
const formatMetric = (value) => (value == null ? 'n/a' : value.toFixed(3));

function row(table, cells, header = false) {
  const tableRow = table.insertRow();
  for (const text of cells) {
    const cell = document.createElement(header ? 'th' : 'td');
    cell.textContent = text;
    tableRow.append(cell);
  }
}

/** Shows the metrics chosen in the Compile step for the validation part, the test part and all. */
export function showMetrics(evaluation, chosen) {
  const { all, validation, test } = evaluation;
  testAccuracy.textContent = percent(all.accuracy);
  metricsTable.replaceChildren();
  const parts = [validation, test, all];
  row(metricsTable, ['', `validation part (${validation.count})`, `test part (${test.count})`, `all test images (${all.count})`], true);
  for (const metric of chosen) {
    row(metricsTable, [METRIC_NAMES[metric], ...parts.map((part) => formatMetric(part[metric]))]);
  }
  row(metricsTable, ['accuracy on non-cats', ...parts.map((part) => formatMetric(part.class_accuracy[0]))]);
  row(metricsTable, ['accuracy on cats', ...parts.map((part) => formatMetric(part.class_accuracy[1]))]);
  showConfusion(all.confusion);
}

function showConfusion(counts) {
  confusion.replaceChildren();
  row(confusion, ['actual \\ predicted', 'non-cat', 'cat'], true);
  const lines = [['non-cat', counts.true_negatives, counts.false_positives], ['cat', counts.false_negatives, counts.true_positives]];
  for (const [name, predictedNonCat, predictedCat] of lines) {
    const tableRow = confusion.insertRow();
    tableRow.append(Object.assign(document.createElement('th'), { textContent: name }));
    tableRow.insertCell().textContent = String(predictedNonCat);
    tableRow.insertCell().textContent = String(predictedCat);
  }
}

/** Returns the indices of test images whose predicted class differs from their label. */
export function misclassifiedIndices(probabilities, labels) {
  return labels.flatMap((label, index) => ((probabilities[index] >= 0.5 ? 1 : 0) === label ? [] : [index]));
}

/** Shows the misclassified test images with their probabilities and their part of the split. */
export function showMisclassified(indices, images, result, classes) {
  gallery.replaceChildren();
  if (indices.length === 0) {
    gallery.textContent = 'None: every test image is classified correctly.';
    return;
  }
  const validation = new Set(result.validation_indices);
  indices.forEach((testIndex, position) => {
    const probability = result.evaluation.probabilities[testIndex];
    const part = validation.has(testIndex) ? 'validation' : 'test';
    const caption = `#${testIndex} (${part}): a ${classes[result.test_labels[testIndex]]}, ${percent(probability)} cat`;
    gallery.append(imageFigure(images.pixels, position, images.size, caption));
  });
}

export function clear() {
  testAccuracy.textContent = '–';
  metricsTable.replaceChildren();
  confusion.replaceChildren();
  gallery.replaceChildren();
}
