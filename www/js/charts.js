// Training curves and the ROC curve, drawn with uPlot (vendored from npm by ./build.sh).
import uPlot from '../vendor/uplot/uPlot.esm.js';

const SIZE = { width: 440, height: 240 };
const TRAIN_COLOR = '#1f77b4';
const VALIDATION_COLOR = '#d62728';

function lineChart(element, title, yLabel, yRange) {
  return new uPlot({
    ...SIZE,
    title,
    scales: { x: { time: false }, ...(yRange ? { y: { range: yRange } } : {}) },
    axes: [{ label: 'epoch' }, { label: yLabel }],
    series: [
      { label: 'epoch' },
      { label: 'training', stroke: TRAIN_COLOR, width: 2 },
      { label: 'validation', stroke: VALIDATION_COLOR, width: 2 },
    ],
  }, [[], [], []], element);
}

/** The live loss and accuracy curves of one training run. */
export class TrainingCurves {
  constructor(lossElement, accuracyElement) {
    this.loss = lineChart(lossElement, 'Loss', 'loss');
    this.accuracy = lineChart(accuracyElement, 'Accuracy', 'accuracy', [0, 1]);
    this.reset();
  }

  reset() {
    this.epochs = [];
    this.values = { trainLoss: [], validationLoss: [], trainAccuracy: [], validationAccuracy: [] };
    this.redraw();
  }

  add(report) {
    this.epochs.push(report.epoch);
    this.values.trainLoss.push(report.train_loss);
    this.values.validationLoss.push(report.validation_loss);
    this.values.trainAccuracy.push(report.train_accuracy);
    this.values.validationAccuracy.push(report.validation_accuracy);
    this.redraw();
  }

  redraw() {
    const { trainLoss, validationLoss, trainAccuracy, validationAccuracy } = this.values;
    this.loss.setData([this.epochs, trainLoss, validationLoss]);
    this.accuracy.setData([this.epochs, trainAccuracy, validationAccuracy]);
  }

  /** The plotted points, for the automated checks. */
  get points() {
    return this.epochs.length;
  }
}

/** The ROC curve of the cat class with its area, and the diagonal of a random guess. */
export class RocChart {
  constructor(element, caption) {
    this.caption = caption;
    this.chart = new uPlot({
      ...SIZE,
      title: 'ROC curve',
      scales: { x: { time: false, range: [0, 1] }, y: { range: [0, 1] } },
      axes: [{ label: 'false positive rate' }, { label: 'true positive rate' }],
      series: [
        { label: 'FPR' },
        { label: 'head', stroke: TRAIN_COLOR, width: 2 },
        { label: 'random guess', stroke: '#999', dash: [4, 4] },
      ],
    }, [[], [], []], element);
  }

  show(points, auc) {
    const fpr = points.map((point) => point.false_positive_rate);
    const tpr = points.map((point) => point.true_positive_rate);
    this.chart.setData([fpr, tpr, fpr]);
    this.caption.textContent = auc == null ? 'AUC: n/a (one class only)' : `Area under the curve (AUC): ${auc.toFixed(3)}`;
  }
}
