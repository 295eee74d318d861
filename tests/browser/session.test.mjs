// One long session on the CPU backend. The page must stay responsive while it extracts
// features and trains, handle every kind of image file by upload and by drag and drop, and
// keep its memory flat over many training runs and webcam frames. The file also checks the
// server's security headers and that nothing is requested outside 127.0.0.1.
//
// CATVNONCAT_FRAMES (default 1500) sets the number of webcam frames and CATVNONCAT_RUNS
// (default 20) the number of training runs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import {
  ROOT, cameraFlags, encodePng, encodeY4m, expectPrediction, launch, openPage, readTestImages, recordRequests, setField,
  startServer, upload, waitForResult,
} from './helpers.mjs';

const PORT = Number(process.env.TEST_PORT ?? 8765);
const ORIGIN = `http://127.0.0.1:${PORT}`;
// Test image 2 is a cat; the trained head gives it a cat probability near 1.
const CAT = 2;
const TRAIN_TIMEOUT = 40 * 60_000;
const FRAMES = Number(process.env.CATVNONCAT_FRAMES ?? 1500);
const RUNS = Number(process.env.CATVNONCAT_RUNS ?? 20);
// Memory is compared between this frame and the last one, so that start-up allocations count
// in neither figure.
const BASELINE_FRAME = 500;
const MAX_GROWTH = 0.05;
// Each memory figure compared is the median of this many readings.
const SAMPLES = 3;
const MAX_CLICK_DELAY_MS = 200;
const CLI = process.env.CATVNONCAT_CLI ?? join(ROOT, 'target/release/catvnoncat');
// Built by `cargo test --release` next to the command line.
const IMAGE_WRITER = join(dirname(CLI), 'examples/page_images');

let server;
let dir;
const files = {};

before(async () => {
  server = await startServer(PORT);
  dir = mkdtempSync(join(tmpdir(), 'catvnoncat-session-'));
  const image = readTestImages()[CAT];
  assert.equal(image.label, 1);
  files.cat = join(dir, 'cat.png');
  files.video = join(dir, 'cat.y4m');
  writeFileSync(files.cat, encodePng(image.rgb, 64, 64));
  writeFileSync(files.video, encodeY4m(image.rgb, 64));
});

after(() => server?.kill());

test('server sends a CSP limited to its own origin, COOP and COEP', async () => {
  const response = await fetch(`${ORIGIN}/`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('cross-origin-opener-policy'), 'same-origin');
  assert.equal(response.headers.get('cross-origin-embedder-policy'), 'require-corp');

  const csp = response.headers.get('content-security-policy');
  assert.ok(csp, 'the Content-Security-Policy header is missing');
  const directives = new Map(csp.split(';').map((part) => part.trim().split(/\s+/)).filter(([name]) => name)
    .map(([name, ...sources]) => [name, sources]));
  assert.deepEqual(directives.get('default-src'), ["'self'"]);
  // Besides the page's own origin: compiling WebAssembly, image previews and decoded images
  // (blob:, data:), and the webcam stream (mediastream:).
  const allowed = new Set(["'self'", "'none'", "'wasm-unsafe-eval'", 'blob:', 'data:', 'mediastream:']);
  for (const [name, sources] of directives) {
    for (const source of sources) assert.ok(allowed.has(source), `${name} allows ${source}`);
  }
  assert.deepEqual(directives.get('script-src'), ["'self'", "'wasm-unsafe-eval'"]);
  assert.deepEqual(directives.get('connect-src'), ["'self'"]);
  // blob: because the CPU package's thread pool starts its workers from a blob copy of its helper script.
  assert.deepEqual(directives.get('worker-src'), ["'self'", 'blob:']);
  assert.deepEqual(directives.get('object-src'), ["'none'"]);

  const script = await fetch(`${ORIGIN}/js/worker.js`);
  assert.equal(script.headers.get('content-security-policy'), csp);
  assert.equal(script.headers.get('cross-origin-embedder-policy'), 'require-corp');
});

/** Records how long each click on the training table's toggle waits before its handler runs. */
async function watchClicks(page) {
  await page.evaluate(() => {
    window.clickDelays = [];
    document.querySelector('#train-section summary').addEventListener('click', (event) => {
      window.clickDelays.push(performance.now() - event.timeStamp);
    });
  });
}

/** Clicks the toggle every 300 ms while the progress text matches `phase`, at least `count` times. */
async function clickDuring(page, phase, count) {
  const progress = page.locator('#progress-text');
  await progress.filter({ hasText: phase }).waitFor({ timeout: TRAIN_TIMEOUT });
  const before = await page.evaluate(() => window.clickDelays.length);
  let sent = 0;
  while (sent < count && phase.test(await progress.textContent())) {
    await page.locator('#train-section summary').click();
    sent += 1;
    await page.waitForTimeout(300);
  }
  await page.waitForFunction((expected) => window.clickDelays.length >= expected, before + sent);
  return page.evaluate((first) => window.clickDelays.slice(first), before);
}

/**
 * Measures the page's JS heap, the worker's JS heap and the wasm memory. The page's heap is
 * what V8 reports in use after a full garbage collection, both through the DevTools protocol
 * (`cdp`). Between training runs, measureUserAgentSpecificMemory's figure for the page moved by
 * up to 0.6 MiB without a trend, and V8's by 0.1 MiB.
 */
async function measureMemory(page, cdp) {
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = await cdp.send('Runtime.getHeapUsage');
  const rest = await page.evaluate(async () => {
    const result = await performance.measureUserAgentSpecificMemory();
    const worker = result.breakdown
      .filter((entry) => entry.attribution.some((attribution) => attribution.scope === 'DedicatedWorkerGlobalScope'))
      .reduce((sum, entry) => sum + entry.bytes, 0);
    return { worker, wasm: await window.catvnoncat.wasmMemoryBytes() };
  });
  return { page: usedSize, ...rest };
}

/** Computes the median of each figure over `readings`. */
function median(readings) {
  const middle = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
  return Object.fromEntries(Object.keys(readings[0]).map((key) => [key, middle(readings.map((reading) => reading[key]))]));
}

/** Measures `SAMPLES` times, a second apart, and returns the median of each figure. */
async function settledMemory(page, cdp) {
  const readings = [];
  for (let sample = 0; sample < SAMPLES; sample++) {
    if (sample > 0) await page.waitForTimeout(1000);
    readings.push(await measureMemory(page, cdp));
  }
  return median(readings);
}

function assertFlat(label, first, last) {
  for (const key of ['page', 'worker', 'wasm']) {
    const growth = (last[key] - first[key]) / first[key];
    assert.ok(growth < MAX_GROWTH, `${label}: ${key} memory grew ${(growth * 100).toFixed(2)}% (${first[key]} to ${last[key]} bytes)`);
  }
}

const megabytes = (memory) => Object.entries(memory).map(([key, value]) => `${key} ${(value / 2 ** 20).toFixed(2)} MiB`).join(', ');

describe('cpu backend, one long session', () => {
  let browser;
  let context;
  let session;
  let requests;
  let cdp;

  before(async () => {
    // ForceEagerMeasureMemory makes measureUserAgentSpecificMemory measure at once instead of
    // at the next garbage collection.
    browser = await launch([...cameraFlags(files.video), '--enable-blink-features=ForceEagerMeasureMemory']);
    context = await browser.newContext();
    // The context receives the requests of the page and of its worker.
    requests = recordRequests(context, ORIGIN);
    session = await openPage(context, ORIGIN, '?backend=cpu');
    cdp = await context.newCDPSession(session.page);
    assert.equal(await session.page.getByTestId('backend').textContent(), 'cpu');
  });

  after(() => browser?.close());

  test('clicks are handled within 200 ms during feature extraction and training', { timeout: TRAIN_TIMEOUT }, async () => {
    const { page } = session;
    await watchClicks(page);
    await setField(page, '#epochs', 100);
    const during = {};
    await waitForResult(page, async () => {
      await page.getByTestId('train').click();
      during.features = await clickDuring(page, /^features at 64 x 64/, 8);
      during.training = await clickDuring(page, /^training:/, 8);
    }, TRAIN_TIMEOUT);
    for (const [phase, delays] of Object.entries(during)) {
      console.log(`click delay during ${phase}: ${delays.map((delay) => delay.toFixed(1)).join(', ')} ms`);
      assert.ok(delays.length >= 3, `only ${delays.length} clicks during ${phase}`);
      assert.ok(Math.max(...delays) < MAX_CLICK_DELAY_MS, `a click during ${phase} waited ${Math.max(...delays).toFixed(1)} ms`);
    }
  });

  test('each image file, uploaded and dropped, gives a class or an error', { timeout: TRAIN_TIMEOUT }, async () => {
    assert.ok(existsSync(IMAGE_WRITER), `${IMAGE_WRITER} is missing; build it with cargo build --release --example page_images`);
    execFileSync(IMAGE_WRITER, [files.cat, dir]);
    const path = (name) => join(dir, name);
    writeFileSync(path('empty.png'), Buffer.alloc(0));
    writeFileSync(path('notes.jpg'), 'this is a text file, not an image');
    const cases = [
      ['empty.png', /the file is empty; choose an image file/],
      ['truncated.jpg', /the file may be damaged or truncated/],
      ['truncated.png', /the file may be damaged or truncated/],
      ['notes.jpg', /not a supported image/],
      ['bomb.png', /the image is too large to decode.*16384 pixels a side/],
      ['upright.jpg', 'cat'],
      ['rotated.jpg', 'cat'],
      ['cmyk.jpg', 'cat'],
      ['gray.png', 'any'],
      ['gray16.png', 'any'],
      ['palette.png', 'any'],
      ['alpha.png', 'any'],
      ['white_border.png', 'any'],
      ['lossless.webp', 'cat'],
      ['quantized.gif', 'any'],
    ];
    const { page } = session;
    await ensureHead(page);
    for (const [how, send] of [['upload', upload], ['drop', drop]]) {
      const probabilities = {};
      for (const [name, expected] of cases) {
        const label = `${name} by ${how}`;
        const outcome = await classify(page, () => send(page, path(name)));
        if (expected instanceof RegExp) {
          assert.match(outcome.error, expected, label);
          assert.equal(outcome.prediction, '', `${label}: no prediction`);
        } else {
          assert.equal(outcome.error, '', label);
          assert.match(outcome.prediction, /^(cat|non-cat) \(\d+\.\d% cat\)$/, label);
          if (expected !== 'any') assert.equal(outcome.className, expected, `${label}: ${outcome.prediction}`);
          probabilities[name] = outcome.probability;
        }
        console.log(`${label}: ${outcome.error || outcome.prediction}`);

        const next = await classify(page, () => send(page, files.cat));
        assert.equal(next.error, '', `the image after ${label}`);
        assert.equal(next.className, 'cat', `the image after ${label}: ${next.prediction}`);
      }
      const turned = Math.abs(probabilities['rotated.jpg'] - probabilities['upright.jpg']);
      assert.ok(turned <= 0.02, `${how}: rotated ${probabilities['rotated.jpg']}, upright ${probabilities['upright.jpg']}`);
      // A transparent border flattened onto white must give what a white border gives. The class
      // itself may change: a white frame is a large change for a 64 x 64 image.
      const flattened = Math.abs(probabilities['alpha.png'] - probabilities['white_border.png']);
      assert.ok(flattened <= 0.002, `${how}: alpha ${probabilities['alpha.png']}, white border ${probabilities['white_border.png']}`);
    }
  });

  test(`${RUNS} training runs in a row keep memory flat`, { timeout: TRAIN_TIMEOUT }, async () => {
    assert.ok(RUNS >= 2 * SAMPLES, `CATVNONCAT_RUNS must be at least ${2 * SAMPLES}`);
    const { page } = session;
    await setField(page, '#epochs', 3);
    const memory = [];
    for (let run = 1; run <= RUNS; run++) {
      const result = await waitForResult(page, () => page.getByTestId('train').click(), TRAIN_TIMEOUT);
      assert.equal(result.history.length, 3);
      memory.push(await measureMemory(page, cdp));
      console.log(`after training run ${run}: ${megabytes(memory.at(-1))}`);
    }
    // Compares the first runs with the last ones, each side as a median, so that one reading
    // cannot decide the result.
    assertFlat(`training runs 1 to ${SAMPLES} against ${RUNS - SAMPLES + 1} to ${RUNS}`,
      median(memory.slice(0, SAMPLES)), median(memory.slice(-SAMPLES)));
  });

  test(`${FRAMES} webcam frames keep memory flat`, { timeout: 4 * 3600_000 }, async () => {
    assert.ok(FRAMES > BASELINE_FRAME, `CATVNONCAT_FRAMES must be above ${BASELINE_FRAME}`);
    const { page } = session;
    await ensureHead(page);
    const start = await page.evaluate(() => window.catvnoncat.framesClassified);
    const started = Date.now();
    const frameCount = async () => await page.evaluate(() => window.catvnoncat.framesClassified) - start;
    // Waits until at least `count` frames are classified and returns how many are.
    const framesDone = async (count) => {
      for (;;) {
        const done = await frameCount();
        if (done >= count) return done;
        assert.equal(await page.getByTestId('error').textContent(), '', `after ${done} frames`);
        await page.waitForTimeout(1000);
      }
    };
    // The webcam keeps running while memory is measured, so each line gives the frame count
    // before and after the measurement.
    const report = async (from, memory) => {
      const seconds = ((Date.now() - started) / 1000).toFixed(0);
      console.log(`webcam: frames ${from} to ${await frameCount()}, ${seconds} s: ${megabytes(memory)}`);
    };
    await page.locator('#camera-start').click();
    await expectPrediction(page, 'cat');

    const firstFrame = await framesDone(BASELINE_FRAME);
    const first = await settledMemory(page, cdp);
    await report(firstFrame, first);
    // At least FRAMES - BASELINE_FRAME frames lie between the two compared measurements, also
    // when the first one ends far beyond its frame.
    const lastTarget = Math.max(FRAMES, await frameCount() + FRAMES - BASELINE_FRAME);
    // Measures every 1,000 frames too, so that a long run shows the trend before it ends.
    for (let frame = 1000; frame < lastTarget; frame += 1000) {
      const done = await framesDone(frame);
      await report(done, await measureMemory(page, cdp));
    }
    const lastFrame = await framesDone(lastTarget);
    const last = await settledMemory(page, cdp);
    await report(lastFrame, last);
    await page.locator('#camera-stop').click();
    assert.equal(await page.getByTestId('error').textContent(), '');
    assertFlat(`webcam frames ${firstFrame} to ${lastFrame}`, first, last);
  });

  test('no page errors, panics or outside requests', () => {
    assert.deepEqual(session.errors, []);
    assert.deepEqual(session.panics, []);
    assert.ok(requests.all().some((url) => url.endsWith('/weights/vgg16_notop_f16.safetensors')), 'the worker\'s requests are recorded');
    assert.deepEqual(requests.outside(), []);
    assert.deepEqual(session.requests.outside(), []);
  });
});

/** Trains a head for 3 epochs unless the page has one, so that a test can run alone (--test-name-pattern). */
async function ensureHead(page) {
  if (await page.getByTestId('head-download').isEnabled()) return;
  await setField(page, '#epochs', 3);
  await waitForResult(page, () => page.getByTestId('train').click(), TRAIN_TIMEOUT);
}

/** Drops the file at `path` onto the page's drop zone and waits until the page has handled it. */
async function drop(page, path) {
  const bytes = [...readFileSync(path)];
  const dataTransfer = await page.evaluateHandle(({ bytes, name }) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([new Uint8Array(bytes)], name));
    return transfer;
  }, { bytes, name: basename(path) });
  await page.locator('#drop-zone').dispatchEvent('dragover', { dataTransfer });
  await page.locator('#drop-zone').dispatchEvent('drop', { dataTransfer });
  await page.waitForFunction(() => !document.querySelector('[data-testid=train]').disabled);
}

/**
 * Sends a file with `send` and returns the page's error and prediction. The prediction is
 * cleared first, so that an unchanged text cannot pass for a new prediction.
 */
async function classify(page, send) {
  await page.evaluate(() => {
    document.querySelector('[data-testid=prediction]').textContent = '';
  });
  await send();
  const error = await page.getByTestId('error').textContent();
  const prediction = await page.getByTestId('prediction').textContent();
  const match = /^(cat|non-cat) \((\d+\.\d)% cat\)$/.exec(prediction);
  return { error, prediction, className: match?.[1], probability: match ? Number(match[2]) / 100 : null };
}
