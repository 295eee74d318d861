// The settings form: reads it into the run settings that the model and `catvnoncat train
// --config` take, and writes settings back into it (defaults, a restored head).

const $ = (id) => document.getElementById(id);

const ACTIVATIONS = ['relu', 'tanh', 'sigmoid', 'linear'];
const MAX_LAYERS = 4;
const LOSS_OF_OUTPUT = { sigmoid: 'binary_crossentropy', softmax: 'categorical_crossentropy' };
const OUTPUT_OF_LOSS = { binary_crossentropy: 'sigmoid', categorical_crossentropy: 'softmax' };

const fields = {
  inputSize: $('input-size'), pooling: $('pooling'), dropout: $('dropout'), output: $('output'),
  layers: $('dense-layers'), addLayer: $('add-layer'),
  optimizer: $('optimizer'), learningRate: $('learning-rate'), momentum: $('momentum'), momentumLabel: $('momentum-label'),
  batchSize: $('batch-size'), epochs: $('epochs'), seed: $('seed'), loss: $('loss'),
  earlyStopping: $('early-stopping'), patience: $('patience'),
  validationFraction: $('validation-fraction'), splitSeed: $('split-seed'),
};

/** Reads a number field; an empty or malformed field is an error that names it. */
function number(input, label, { integer = false } = {}) {
  const text = input.value.trim();
  const value = text === '' ? NaN : Number(text);
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new Error(`${label} must be ${integer ? 'a whole number' : 'a number'}, got "${text}"; correct the field and try again`);
  }
  return value;
}

/** Returns the run settings of the form, or throws an error that names the field at fault. */
export function read() {
  const dense = [...fields.layers.querySelectorAll('.dense-layer')].map((row, index) => ({
    units: number(row.querySelector('.units'), `Units of hidden layer ${index + 1}`, { integer: true }),
    activation: row.querySelector('.activation').value,
  }));
  const side = Number(fields.inputSize.value);
  return {
    input_size: { height: side, width: side },
    head: {
      pooling: fields.pooling.value,
      dense,
      dropout: number(fields.dropout, 'Dropout'),
      output: fields.output.value,
    },
    training: {
      optimizer: fields.optimizer.value,
      learning_rate: number(fields.learningRate, 'Learning rate'),
      momentum: number(fields.momentum, 'Momentum'),
      batch_size: number(fields.batchSize, 'Batch size', { integer: true }),
      epochs: number(fields.epochs, 'Epochs', { integer: true }),
      seed: number(fields.seed, 'Seed', { integer: true }),
      early_stopping_patience: fields.earlyStopping.checked ? number(fields.patience, 'Patience', { integer: true }) : null,
    },
    validation_fraction: number(fields.validationFraction, 'Validation fraction'),
    split_seed: number(fields.splitSeed, 'Split seed', { integer: true }),
  };
}

/** Returns the metrics chosen in the Compile step, in a fixed order. */
export function chosenMetrics() {
  return [...document.querySelectorAll('input[name="metric"]:checked')].map((box) => box.value);
}

/** Fills the form with run settings. */
export function write(config) {
  fields.inputSize.value = String(config.input_size.width);
  fields.pooling.value = config.head.pooling;
  fields.dropout.value = String(config.head.dropout);
  fields.output.value = config.head.output;
  fields.loss.value = LOSS_OF_OUTPUT[config.head.output];
  fields.layers.replaceChildren();
  for (const layer of config.head.dense) addLayerRow(layer);
  const training = config.training;
  fields.optimizer.value = training.optimizer;
  fields.learningRate.value = String(training.learning_rate);
  fields.momentum.value = String(training.momentum);
  fields.batchSize.value = String(training.batch_size);
  fields.epochs.value = String(training.epochs);
  fields.seed.value = String(training.seed);
  fields.earlyStopping.checked = training.early_stopping_patience != null;
  if (training.early_stopping_patience != null) fields.patience.value = String(training.early_stopping_patience);
  fields.validationFraction.value = String(config.validation_fraction ?? 0.5);
  fields.splitSeed.value = String(config.split_seed ?? 42);
  updateDependentFields();
}

export function setEpochs(epochs) {
  fields.epochs.value = String(epochs);
}

function addLayerRow(layer = { units: 64, activation: 'relu' }) {
  const row = document.createElement('div');
  row.className = 'dense-layer controls';
  const index = fields.layers.children.length + 1;
  const units = Object.assign(document.createElement('input'), { type: 'number', min: 1, max: 4096, className: 'units', value: String(layer.units) });
  const activation = Object.assign(document.createElement('select'), { className: 'activation' });
  for (const name of ACTIVATIONS) activation.append(new Option(name, name, false, name === layer.activation));
  const remove = Object.assign(document.createElement('button'), { type: 'button', className: 'remove-layer', textContent: 'Remove' });
  remove.addEventListener('click', () => {
    row.remove();
    renumberLayers();
    fields.layers.dispatchEvent(new Event('change', { bubbles: true }));
  });
  const unitsLabel = document.createElement('label');
  unitsLabel.append(`Hidden layer ${index}: Dense, units `, units);
  const activationLabel = document.createElement('label');
  activationLabel.append('activation ', activation);
  row.append(unitsLabel, activationLabel, remove);
  fields.layers.append(row);
  fields.addLayer.disabled = fields.layers.children.length >= MAX_LAYERS;
}

function renumberLayers() {
  [...fields.layers.children].forEach((row, index) => {
    row.querySelector('label').firstChild.textContent = `Hidden layer ${index + 1}: Dense, units `;
  });
  fields.addLayer.disabled = fields.layers.children.length >= MAX_LAYERS;
}

/** Keeps the loss and the output layer consistent, and shows momentum only for SGD. */
function updateDependentFields(changed) {
  if (changed === fields.loss) fields.output.value = OUTPUT_OF_LOSS[fields.loss.value];
  else fields.loss.value = LOSS_OF_OUTPUT[fields.output.value];
  fields.momentumLabel.hidden = fields.optimizer.value !== 'sgd';
  fields.patience.disabled = !fields.earlyStopping.checked;
}

/** Calls `onChange` after any settings change; `onSplitChange` after a change of the split. */
export function bind({ onChange, onSplitChange }) {
  fields.addLayer.addEventListener('click', () => {
    addLayerRow();
    onChange();
  });
  const sections = ['model-section', 'compile-section', 'split-section'].map($);
  for (const section of sections) {
    section.addEventListener('change', (event) => {
      if (event.target.name === 'metric') return;
      updateDependentFields(event.target);
      if (event.target === fields.validationFraction || event.target === fields.splitSeed) onSplitChange();
      onChange();
    });
  }
}
