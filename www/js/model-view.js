// The model step's views: the summary table (like Keras' model.summary()), the diagram (like
// Keras' plot_model, as SVG) and the cost of the chosen input size.

const SVG = 'http://www.w3.org/2000/svg';
const BOX = { width: 330, height: 34, gap: 10, left: 20, top: 30 };

const summaryTable = document.getElementById('summary');
const totalParams = document.getElementById('total-params');
const trainableParams = document.getElementById('trainable-params');
const nonTrainableParams = document.getElementById('non-trainable-params');
const diagram = document.getElementById('diagram');
const inputCost = document.getElementById('input-cost');

const shapeText = (shape) => `(None, ${shape.join(', ')})`;

export function showSummary(summary) {
  summaryTable.replaceChildren();
  const header = summaryTable.insertRow();
  for (const title of ['Layer (type)', 'Output shape', 'Param #', 'Trainable']) {
    header.append(Object.assign(document.createElement('th'), { textContent: title }));
  }
  for (const layer of summary.layers) {
    const row = summaryTable.insertRow();
    if (!layer.trainable) row.className = 'frozen';
    for (const text of [`${layer.name} (${layer.kind})`, shapeText(layer.output_shape), layer.params.toLocaleString('en'), layer.trainable ? 'yes' : 'no']) {
      row.insertCell().textContent = text;
    }
  }
  // Plain integers, as the page's contract for automated checks requires.
  totalParams.textContent = String(summary.total_params);
  trainableParams.textContent = String(summary.trainable_params);
  nonTrainableParams.textContent = String(summary.non_trainable_params);
  showDiagram(summary.layers);
}

function svg(name, attributes, text) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** Draws one box per layer, top to bottom, inside a frame for the frozen base and one for the head. */
function showDiagram(layers) {
  const step = BOX.height + BOX.gap;
  const height = BOX.top + layers.length * step + 10;
  const width = BOX.left * 2 + BOX.width + 20;
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': 'model diagram' });
  root.append(svg('defs', {}));
  root.firstChild.append(arrowMarker());

  const frozenCount = layers.filter((layer) => !layer.trainable).length;
  const frame = (first, count, label, kind) => {
    const y = BOX.top + first * step - BOX.gap / 2;
    root.append(svg('rect', { x: 6, y, width: width - 12, height: count * step, class: `diagram-frame ${kind}`, rx: 6 }));
    root.append(svg('text', { x: 12, y: y - 4, class: 'diagram-frame-label' }, label));
  };
  frame(0, frozenCount, 'VGG16 base: frozen (ImageNet weights)', 'frozen');
  frame(frozenCount, layers.length - frozenCount, 'head: trainable', 'trainable');

  layers.forEach((layer, index) => {
    const y = BOX.top + index * step;
    const group = svg('g', { class: `diagram-layer ${layer.trainable ? 'trainable' : 'frozen'}`, 'data-layer': layer.name });
    group.append(svg('rect', { x: BOX.left, y, width: BOX.width, height: BOX.height, rx: 4 }));
    group.append(svg('text', { x: BOX.left + 8, y: y + 14 }, `${layer.name}: ${layer.kind}`));
    group.append(svg('text', { x: BOX.left + 8, y: y + 28, class: 'diagram-shape' },
      `output ${shapeText(layer.output_shape)}, ${layer.params.toLocaleString('en')} params`));
    root.append(group);
    if (index + 1 < layers.length) {
      const x = BOX.left + BOX.width / 2;
      root.append(svg('line', { x1: x, y1: y + BOX.height, x2: x, y2: y + step - 1, class: 'diagram-arrow', 'marker-end': 'url(#arrow)' }));
    }
  });
  diagram.replaceChildren(root);
}

function arrowMarker() {
  const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto' });
  marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'diagram-arrow-head' }));
  return marker;
}

/**
 * Shows what the input size costs: the base's operations per image, relative to 64x64, and
 * the extraction time at the speed measured on this backend, when there is one.
 */
export function showInputCost(summary, reference) {
  const gflops = summary.base_flops / 1e9;
  let text = `Base: ${gflops.toFixed(1)} GFLOP per image`;
  if (reference) {
    const ratio = summary.base_flops / reference.flops;
    text += ` (${ratio.toFixed(2)}x the 64 x 64 cost)`;
    if (reference.imagesPerSecond) {
      const seconds = (259 * ratio) / reference.imagesPerSecond;
      text += `, about ${seconds < 90 ? `${Math.round(seconds)} s` : `${Math.round(seconds / 60)} min`} for the 259 images on this backend`;
    }
  }
  inputCost.textContent = `${text}. Larger inputs are resized from the 64 x 64 images.`;
}
