// Times onnxruntime-web on the VGG16 base graph (vgg16_notop.onnx, made by bench/cut_graph.py)
// with the images and preprocessing of the main page, for ./build.sh bench. onnxruntime-web
// is served from ../vendor/onnxruntime-web/, copied there from npm by the build.
import * as ort from '../vendor/onnxruntime-web/ort.all.min.mjs';

// ImageNet channel means in BGR order, as in src/model/vgg16.rs (Keras "caffe" preprocessing).
const MEAN_BGR = [103.939, 116.779, 123.68];
const SIDE = 64;
const IMAGE_VALUES = SIDE * SIDE * 3;

ort.env.wasm.wasmPaths = new URL('../vendor/onnxruntime-web/', import.meta.url).href;
// Threads need SharedArrayBuffer, which only a cross-origin isolated page has.
ort.env.wasm.numThreads = crossOriginIsolated ? navigator.hardwareConcurrency : 1;

/** Reads the first `count` training images of the page's data file as NHWC BGR floats minus the means. */
async function loadImages(count) {
  const response = await fetch('../data/catvnoncat.bin');
  if (!response.ok) throw new Error(`loading data/catvnoncat.bin failed with HTTP ${response.status}; run ./build.sh data`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const view = new DataView(bytes.buffer);
  const headerLength = view.getUint32(12, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + headerLength)));
  if (header.height !== SIDE || header.width !== SIDE || header.train_count < count) {
    throw new Error(`expected at least ${count} training images of ${SIDE}x${SIDE}, got ${header.train_count} of ${header.height}x${header.width}`);
  }
  const pixels = bytes.subarray(16 + headerLength, 16 + headerLength + count * IMAGE_VALUES);
  const input = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i += 3) {
    for (let channel = 0; channel < 3; channel++) {
      input[i + channel] = pixels[i + 2 - channel] - MEAN_BGR[channel];
    }
  }
  return input;
}

async function timed(work) {
  const started = performance.now();
  const result = await work();
  return { result, ms: performance.now() - started };
}

/**
 * Measures one execution provider ('wasm' or 'webgpu'): session creation, the first batch of
 * one image, `batchOneRuns` more single images, then `repeats` batches of `batch` images after
 * one warm-up batch. Returns times in ms, images/s and the features of the first image.
 */
async function run({ provider, batchOneRuns = 8, batch = 32, repeats = 2 }) {
  const images = await loadImages(Math.max(batch, batchOneRuns));
  const model = await fetch('vgg16_notop.onnx').then((response) => {
    if (!response.ok) throw new Error(`loading bench/vgg16_notop.onnx failed with HTTP ${response.status}; run ./build.sh bench`);
    return response.arrayBuffer();
  });
  const infer = async (start, count) => {
    const input = new ort.Tensor('float32', images.subarray(start * IMAGE_VALUES, (start + count) * IMAGE_VALUES), [count, SIDE, SIDE, 3]);
    const outputs = await session.run({ input });
    return outputs[session.outputNames[0]].data;
  };

  const created = await timed(() => ort.InferenceSession.create(model, { executionProviders: [provider] }));
  const session = created.result;
  const first = await timed(() => infer(0, 1));

  const single = await timed(async () => {
    for (let index = 0; index < batchOneRuns; index++) await infer(index, 1);
  });
  let batched = null;
  if (repeats > 0) {
    await infer(0, batch);
    batched = await timed(async () => {
      for (let repeat = 0; repeat < repeats; repeat++) await infer(0, batch);
    });
  }
  await session.release();

  return {
    provider,
    threads: ort.env.wasm.numThreads,
    crossOriginIsolated,
    sessionMs: created.ms,
    firstInferenceMs: first.ms,
    imagesPerSecondBatch1: batchOneRuns / (single.ms / 1000),
    batch,
    imagesPerSecondBatch: batched && (batch * repeats) / (batched.ms / 1000),
    firstFeatures: Array.from(first.result),
  };
}

window.ortBench = { run, version: ort.env.versions?.web ?? 'unknown' };

const output = document.getElementById('output');
for (const provider of ['wasm', 'webgpu']) {
  document.getElementById(`run-${provider}`).addEventListener('click', async () => {
    output.textContent = `running on ${provider}…`;
    try {
      const { firstFeatures, ...result } = await run({ provider, batchOneRuns: 2, batch: 4, repeats: 1 });
      output.textContent = JSON.stringify(result, null, 2);
    } catch (error) {
      output.textContent = `error: ${error.message}`;
    }
  });
}
