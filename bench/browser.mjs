// Browser half of ./build.sh bench: the page's CPU and WebGPU backends against onnxruntime-web
// in headless Chromium, end to end training, webcam latency, sizes and tab memory.
//
// Usage: node bench/browser.mjs OUT_JSON   (BENCH_SHORT=1 for the short plan)
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT, WEBGPU_FLAGS, cameraFlags, encodeY4m, launch, readTestImages, recordRequests, startServer } from '../tests/browser/helpers.mjs';
import { peakMemory } from './memory.mjs';

const SHORT = process.env.BENCH_SHORT === '1';
const PORT = Number(process.env.BENCH_PORT ?? 8790);
const ORIGIN = `http://127.0.0.1:${PORT}`;
const TRAIN_TIMEOUT = 45 * 60_000;
// The fake camera shows test image 2, a cat, as in the browser tests.
const CAT = 2;

// Images per measurement. WebGPU runs on SwiftShader, on the CPU, at seconds per image, so its
// counts stay small. One batched run takes `batch` images, and `repeats` such runs are timed
// after one warm-up run. The first SKIP_FRAMES webcam frames are not counted in `frames`.
const PLAN = SHORT
  ? {
    cpu: { batchOneRuns: 4, batch: 32, repeats: 1, frames: 15 },
    webgpu: { batchOneRuns: 1, batch: 4, repeats: 0, frames: 0 },
    endToEnd: ['cpu'],
  }
  : {
    cpu: { batchOneRuns: 8, batch: 32, repeats: 2, frames: 40 },
    webgpu: { batchOneRuns: 2, batch: 4, repeats: 1, frames: 5 },
    endToEnd: ['cpu', 'webgpu'],
  };
const SKIP_FRAMES = 2;
const errors = [];
const PEER_PROVIDER = { cpu: 'wasm', webgpu: 'webgpu' };

const log = (text) => console.error(`browser: ${text}`);
const flagsFor = (backend) => (backend === 'webgpu' ? WEBGPU_FLAGS : []);

/**
 * Launches Chromium and logs when it exits. A crash otherwise only shows as "Target page,
 * context or browser has been closed" in the next wait, without the time.
 */
async function start(flags) {
  const browser = await launch(flags);
  const started = Date.now();
  browser.on('disconnected', () => log(`Chromium exited after ${((Date.now() - started) / 1000).toFixed(0)} s`));
  return browser;
}

/** Returns the value at fraction `q` of the sorted values (nearest rank). */
function percentile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

function maxRelativeDifference(expected, actual) {
  const scale = Math.max(...expected.map(Math.abs));
  return Math.max(...expected.map((value, i) => Math.abs(value - actual[i]))) / scale;
}

/** Opens `path` in a new context (fresh HTTP cache) and records errors and bytes received. */
async function open(browser, path) {
  const page = await browser.newPage();
  const errors = [];
  const bytesByPath = {};
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('crash', () => log(`the page ${path} crashed`));
  page.on('console', (message) => {
    if (message.type() === 'error') log(`console error on ${path}: ${message.text()}`);
  });
  page.on('requestfinished', async (request) => {
    const sizes = await request.sizes().catch(() => null);
    if (!sizes) return;
    const pathname = new URL(request.url()).pathname;
    bytesByPath[pathname] = (bytesByPath[pathname] ?? 0) + sizes.responseBodySize + sizes.responseHeadersSize;
  });
  const requests = recordRequests(page, ORIGIN);
  await page.goto(`${ORIGIN}${path}`);
  return { page, errors, bytesByPath, requests };
}

function checkClean(session, label) {
  if (session.errors.length) throw new Error(`${label}: page errors: ${session.errors.join('; ')}`);
  const outside = session.requests.outside();
  if (outside.length) throw new Error(`${label}: requests outside ${ORIGIN}: ${outside.join(', ')}`);
}

async function openApp(browser, backend) {
  const session = await open(browser, `/?backend=${backend}&epochs=20`);
  const started = await session.page.getByTestId('backend').filter({ hasNotText: 'starting' }).textContent();
  if (started !== backend) throw new Error(`the page started on ${started}, not on the requested ${backend}`);
  return session;
}

/** Measures our backend through the page's test hooks: weights, first inference, batch 1, batched. */
async function measureOurs(backend) {
  const plan = PLAN[backend];
  const browser = await start(flagsFor(backend));
  try {
    const session = await openApp(browser, backend);
    await session.page.locator('#grid figure').first().waitFor({ timeout: 60_000 });
    const result = await session.page.evaluate(async ({ batchOneRuns, batch, repeats }) => {
      const hooks = window.catvnoncat;
      const time = async (work) => {
        const started = performance.now();
        const value = await work();
        return { value, ms: performance.now() - started };
      };
      const weights = await time(() => hooks.ensureWeights());
      const first = await time(() => hooks.baseFeatures(0, 1));
      const single = await time(async () => {
        for (let index = 0; index < batchOneRuns; index++) await hooks.baseFeatures(index, 1);
      });
      let batched = null;
      if (repeats > 0) {
        await hooks.baseFeatures(0, batch);
        batched = await time(async () => {
          for (let repeat = 0; repeat < repeats; repeat++) await hooks.baseFeatures(0, batch);
        });
      }
      return {
        weightsMs: weights.ms,
        firstInferenceMs: first.ms,
        imagesPerSecondBatch1: batchOneRuns / (single.ms / 1000),
        imagesPerSecondBatch: batched && (batch * repeats) / (batched.ms / 1000),
        firstFeatures: first.value,
      };
    }, plan);
    checkClean(session, `${backend} throughput`);
    return result;
  } finally {
    await browser.close();
  }
}

/** Measures onnxruntime-web on the bench page, with the execution provider that matches `backend`. */
async function measurePeer(backend) {
  const plan = PLAN[backend];
  const browser = await start(flagsFor(backend));
  try {
    const session = await open(browser, '/bench/');
    await session.page.waitForFunction(() => window.ortBench);
    const result = await session.page.evaluate((options) => window.ortBench.run(options), { provider: PEER_PROVIDER[backend], ...plan });
    result.version = await session.page.evaluate(() => window.ortBench.version);
    result.memory = peakMemory();
    checkClean(session, `onnxruntime-web ${PEER_PROVIDER[backend]}`);
    return result;
  } finally {
    await browser.close();
  }
}

/** Records when the page shows each step of training, in ms since navigation started. */
function watchSteps() {
  window.benchSteps = {};
  window.benchFrameMs = [];
  const mark = (name) => {
    window.benchSteps[name] ??= performance.now();
  };
  const check = () => {
    const status = document.getElementById('status').textContent;
    const progress = document.getElementById('progress-text').textContent;
    if (status.startsWith('weights loaded')) mark('weightsReady');
    if (progress.startsWith('training: ')) mark('featuresDone');
    if (document.getElementById('test-accuracy').textContent.includes('%')) mark('accuracyShown');
  };
  new MutationObserver(check).observe(document.body, { subtree: true, childList: true, characterData: true });
  new MutationObserver(() => {
    const match = /, (\d+) ms per frame/.exec(document.getElementById('fps').textContent);
    if (match) window.benchFrameMs.push(Number(match[1]));
  }).observe(document.getElementById('fps'), { childList: true, characterData: true, subtree: true });
}

/** Measures webcam classification per frame, as the page times it (grab, classify, show). */
async function measureWebcam(page, frames) {
  await page.locator('#camera-start').click();
  await page.waitForFunction((count) => window.benchFrameMs.length >= count, SKIP_FRAMES + frames, { timeout: 20 * 60_000 });
  await page.locator('#camera-stop').click();
  const times = (await page.evaluate(() => window.benchFrameMs)).slice(SKIP_FRAMES);
  return { p50: percentile(times, 0.5), p95: percentile(times, 0.95), frames: times.length };
}

/** Measures the user's whole wait from opening the page to the accuracy shown, then webcam frames. */
async function measureEndToEnd(backend, video) {
  const browser = await start([...flagsFor(backend), ...cameraFlags(video)]);
  try {
    const session = await openApp(browser, backend);
    await session.page.evaluate(watchSteps);
    await session.page.getByTestId('train').click();
    await session.page.getByTestId('test-accuracy').filter({ hasText: '%' }).waitFor({ timeout: TRAIN_TIMEOUT });
    const steps = await session.page.evaluate(() => window.benchSteps);
    const accuracy = parseFloat(await session.page.getByTestId('test-accuracy').textContent());
    log(`${backend}: end to end ${(steps.accuracyShown / 1000).toFixed(1)} s, accuracy ${accuracy}%`);

    const frames = PLAN[backend].frames;
    const webcam = frames > 0 ? await measureWebcam(session.page, frames) : null;
    const memory = peakMemory();
    checkClean(session, `${backend} end to end`);
    return { steps, accuracy, webcam, memory, bytesByPath: session.bytesByPath };
  } finally {
    await browser.close();
  }
}

/** Sizes of what the page downloads; the CPU backend loads pkg-cpu instead of pkg's wasm. */
function fileSizes() {
  const wasm = readFileSync(`${ROOT}www/pkg/catvnoncat_bg.wasm`);
  const wasmCpu = readFileSync(`${ROOT}www/pkg-cpu/catvnoncat_bg.wasm`);
  return {
    wasm_raw_bytes: wasm.length,
    wasm_gzip_bytes: gzipSync(wasm, { level: 9 }).length,
    wasm_cpu_raw_bytes: wasmCpu.length,
    wasm_cpu_gzip_bytes: gzipSync(wasmCpu, { level: 9 }).length,
    weights_file_bytes: readFileSync(`${ROOT}www/weights/vgg16_notop_f16.safetensors`).length,
    data_file_bytes: readFileSync(`${ROOT}www/data/catvnoncat.bin`).length,
  };
}

/** Runs one part of the benchmark, and logs a failure and lists it in `results.errors`. */
async function attempt(part, work) {
  try {
    await work();
  } catch (error) {
    log(`${part} failed: ${error.message}`);
    errors.push({ part, error: error.message.split('\n')[0] });
  }
}

async function recordThroughput(results, backend) {
  const plan = PLAN[backend];
  const peerName = `ortweb_${PEER_PROVIDER[backend]}`;
  log(`${backend}: our backend, batch 1 and ${plan.batch}`);
  const ours = await measureOurs(backend);
  log(`${backend}: onnxruntime-web ${PEER_PROVIDER[backend]} provider`);
  const peer = await measurePeer(backend);

  results[`browser_${backend}_img_s_64_b1`] = ours.imagesPerSecondBatch1;
  results[`browser_${backend}_img_s_64_b${plan.batch}`] = ours.imagesPerSecondBatch;
  results[`browser_${backend}_first_inference_ms`] = ours.firstInferenceMs;
  results[`browser_${backend}_weights_ready_ms`] = ours.weightsMs;
  results[`${peerName}_img_s_64_b1`] = peer.imagesPerSecondBatch1;
  results[`${peerName}_img_s_64_b${plan.batch}`] = peer.imagesPerSecondBatch;
  results[`${peerName}_first_inference_ms`] = peer.firstInferenceMs;
  results[`${peerName}_session_ms`] = peer.sessionMs;
  results[`${peerName}_threads`] = peer.threads;
  results[`${peerName}_peak_tab_memory_bytes`] = peer.memory.rendererBytes;
  results[`${peerName}_gpu_process_peak_bytes`] = peer.memory.gpuBytes;
  results[`browser_${backend}_vs_${peerName}_max_rel_diff`] = maxRelativeDifference(peer.firstFeatures, ours.firstFeatures);
  results.ortweb_version = peer.version;
  results[`browser_${backend}_batch`] = plan.batch;
}

async function recordEndToEnd(results, backend, video) {
  log(`${backend}: end to end with ${PLAN[backend].frames} webcam frames`);
  const run = await measureEndToEnd(backend, video);
  results[`e2e_${backend}_seconds`] = run.steps.accuracyShown / 1000;
  results[`e2e_${backend}_weights_ready_seconds`] = run.steps.weightsReady / 1000;
  results[`e2e_${backend}_features_done_seconds`] = run.steps.featuresDone / 1000;
  results[`test_accuracy_${backend}`] = run.accuracy / 100;
  results[`peak_tab_memory_bytes_${backend}`] = run.memory.rendererBytes;
  results[`gpu_process_peak_bytes_${backend}`] = run.memory.gpuBytes;
  if (run.webcam) {
    results[`webcam_p50_ms_${backend}`] = run.webcam.p50;
    results[`webcam_p95_ms_${backend}`] = run.webcam.p95;
    results[`webcam_frames_${backend}`] = run.webcam.frames;
  }
  const bytes = (prefix) => Object.entries(run.bytesByPath).filter(([path]) => path.startsWith(prefix)).reduce((sum, [, size]) => sum + size, 0);
  results.weights_download_bytes = bytes('/weights/');
  results.data_download_bytes = bytes('/data/');
  // Per backend, because each backend loads its own wasm package.
  results[`page_download_bytes_${backend}`] = Object.values(run.bytesByPath).reduce((sum, size) => sum + size, 0);
}

async function main() {
  const out = process.argv[2];
  if (!out) throw new Error('usage: node bench/browser.mjs OUT_JSON');
  const video = join(mkdtempSync(join(tmpdir(), 'catvnoncat-bench-')), 'cat.y4m');
  writeFileSync(video, encodeY4m(readTestImages()[CAT].rgb, 64));

  const results = { browser_plan: SHORT ? 'short' : 'full', ...fileSizes(), errors };
  const server = await startServer(PORT);
  try {
    const version = await start([]).then(async (browser) => {
      const text = browser.version();
      await browser.close();
      return text;
    });
    results.chromium_version = version;

    for (const backend of ['cpu', 'webgpu']) {
      await attempt(`${backend} throughput`, () => recordThroughput(results, backend));
    }
    for (const backend of PLAN.endToEnd) {
      await attempt(`${backend} end to end`, () => recordEndToEnd(results, backend, video));
    }
  } finally {
    server.kill();
  }
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
}

await main();
