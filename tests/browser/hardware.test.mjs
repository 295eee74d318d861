// Missing or failing hardware in a real browser: no WebGPU, no adapter, a device request that
// fails, a device lost during training or webcam classification, and a camera that is denied,
// missing or stopped by the system. The page must fall back or report the problem, keep the
// trained head and go on classifying uploads.
//
// The WebGPU failures are made by serving the model worker with a few lines of test code in
// front of it, which replace or wrap WebGPU functions before the wasm module starts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WEBGPU_FLAGS, cameraFlags, encodePng, encodeY4m, launch, readTestImages, recordRequests, startServer } from './helpers.mjs';

const PORT = Number(process.env.TEST_PORT ?? 8765);
const ORIGIN = `http://127.0.0.1:${PORT}`;
// Test image 2 is a cat (see app.test.mjs).
const CAT = 2;
// Small runs: 32 x 32 inputs and two epochs, since SwiftShader runs WebGPU on the CPU.
const INPUT_SIZE = 32;
const EPOCHS = 2;
const WORK_TIMEOUT = 30 * 60_000;

/** Test code run in the model worker before the page's own worker code. */
const PRELUDES = {
  noGpu: 'delete WorkerNavigator.prototype.gpu;',
  noAdapter: 'GPU.prototype.requestAdapter = async () => null;',
  // SwiftShader has no 16-bit floats in shaders. An adapter that claims them anyway makes the
  // wasm module request them, and Chromium rejects the device request.
  claimsF16: `{
    const features = Object.getOwnPropertyDescriptor(GPUAdapter.prototype, 'features').get;
    Object.defineProperty(GPUAdapter.prototype, 'features', {
      get() {
        return new Set([...features.call(this), 'shader-f16']);
      },
    });
  }`,
  // The TypeError that Chromium gives for a required feature that the adapter lacks.
  deviceRejected: `GPUAdapter.prototype.requestDevice = async () => {
    throw new TypeError('Unsupported feature: shader-f16');
  };`,
  // Keeps every device the wasm module requests, so that the test can destroy it.
  keepDevices: `self.testDevices = [];
  {
    const requestDevice = GPUAdapter.prototype.requestDevice;
    GPUAdapter.prototype.requestDevice = async function (...args) {
      const device = await requestDevice.apply(this, args);
      self.testDevices.push(device);
      return device;
    };
  }`,
};

let server;
const files = {};

before(async () => {
  server = await startServer(PORT);
  const dir = mkdtempSync(join(tmpdir(), 'catvnoncat-hardware-'));
  const images = readTestImages();
  assert.equal(images[CAT].label, 1);
  files.dir = dir;
  files.cat = join(dir, 'cat.png');
  files.video = join(dir, 'cat.y4m');
  writeFileSync(files.cat, encodePng(images[CAT].rgb, 64, 64));
  writeFileSync(files.video, encodeY4m(images[CAT].rgb, 64));
});

after(() => server?.kill());

/**
 * Opens the page, optionally with `prelude` in front of the worker, and records page errors,
 * console errors (page and workers) and requests outside the server.
 */
async function open(context, query, prelude = null) {
  const page = await context.newPage();
  const errors = [];
  const consoleErrors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('worker', (worker) => worker.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  }));
  const requests = recordRequests(page, ORIGIN);
  if (prelude) {
    await page.route('**/js/worker.js', async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, body: `${prelude}\n${await response.text()}` });
    });
  }
  await page.goto(`${ORIGIN}/${query}`);
  await page.getByTestId('backend').filter({ hasNotText: 'starting' }).waitFor();
  await page.locator('#grid figure').first().waitFor({ timeout: WORK_TIMEOUT });
  return { page, errors, consoleErrors, requests };
}

/**
 * Checks that nothing went wrong that the test did not cause: no page error, no unhandled
 * rejection, no request leaving 127.0.0.1, and only the console errors in `expected`.
 */
function assertClean(session, expected = []) {
  assert.deepEqual(session.errors, []);
  assert.deepEqual(session.requests.outside(), []);
  const unexpected = session.consoleErrors.filter((text) => !expected.some((pattern) => pattern.test(text)));
  assert.deepEqual(unexpected, []);
}

async function setField(page, selector, value) {
  const field = page.locator(selector);
  if (await field.evaluate((element) => element.tagName === 'SELECT')) await field.selectOption(String(value));
  else await field.fill(String(value));
  await field.dispatchEvent('change');
}

/** Sets the small run: 32 x 32 inputs and `EPOCHS` epochs. */
async function useSmallRun(page) {
  await setField(page, '#input-size', INPUT_SIZE);
  await setField(page, '#epochs', EPOCHS);
}

/** Runs `action` and resolves to the next training or evaluation result, or fails with the page's error. */
async function nextResult(page, action) {
  const count = await page.evaluate(() => window.catvnoncat.resultCount);
  await action();
  await page.waitForFunction((previous) => window.catvnoncat.resultCount > previous ||
    document.querySelector('[data-testid=error]').textContent !== '', count, { timeout: WORK_TIMEOUT, polling: 250 });
  assert.equal(await page.getByTestId('error').textContent(), '');
  return page.evaluate(() => window.catvnoncat.lastResult);
}

/** Uploads the cat image and resolves to the page's prediction of it. */
async function classifyUpload(page) {
  const count = await page.evaluate(() => window.catvnoncat.predictionCount);
  await page.locator('#upload').setInputFiles(files.cat);
  await page.waitForFunction((previous) => window.catvnoncat.predictionCount > previous ||
    document.querySelector('[data-testid=error]').textContent !== '', count, { timeout: WORK_TIMEOUT, polling: 100 });
  assert.equal(await page.getByTestId('error').textContent(), '');
  await page.waitForFunction(() => !document.querySelector('[data-testid=train]').disabled);
  return page.evaluate(() => window.catvnoncat.lastPrediction);
}

/** Trains the small run and checks that the head classifies an upload. */
async function trainAndClassify(page) {
  await useSmallRun(page);
  const result = await nextResult(page, () => page.getByTestId('train').click());
  assert.equal(result.history.length, EPOCHS);
  const prediction = await classifyUpload(page);
  assert.match(prediction.class, /^(cat|non-cat)$/);
  assert.ok(prediction.cat_probability >= 0, `${prediction.cat_probability}`);
  assert.ok(prediction.cat_probability <= 1, `${prediction.cat_probability}`);
  return prediction;
}

/** Destroys the WebGPU devices that the worker's wasm module requested. */
async function destroyDevices(page) {
  const [worker] = page.workers();
  const count = await worker.evaluate(() => {
    self.testDevices.forEach((device) => device.destroy());
    return self.testDevices.length;
  });
  assert.ok(count >= 1, `${count} devices`);
}

/** Saves the head file that the page offers for download and resolves to its path. */
async function downloadHead(page, name) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('head-download').click()]);
  const path = join(files.dir, name);
  await download.saveAs(path);
  return path;
}

/** Trains a small head on the CPU once and resolves to its file, for the tests that need one. */
let headFile = null;
async function cpuHead() {
  if (headFile) return headFile;
  const browser = await launch([]);
  try {
    const { page } = await open(await browser.newContext(), '?backend=cpu');
    await useSmallRun(page);
    await nextResult(page, () => page.getByTestId('train').click());
    headFile = await downloadHead(page, 'head-cpu.safetensors');
    return headFile;
  } finally {
    await browser.close();
  }
}

/**
 * Opens the page on WebGPU with devices that the test can destroy, loads the head file at
 * `head` and classifies the test's cat image.
 */
async function webgpuWithHead(browser, head) {
  const session = await open(await browser.newContext(), '?backend=webgpu', PRELUDES.keepDevices);
  assert.equal(await session.page.getByTestId('backend').textContent(), 'webgpu');
  await loadHead(session.page, head);
  return { session, before: await classifyUpload(session.page) };
}

/** Checks that the prediction after a device loss (on the CPU) is the one before it (on WebGPU). */
function assertSamePrediction(before, after) {
  assert.equal(after.class, before.class);
  assert.ok(Math.abs(after.cat_probability - before.cat_probability) < 1e-3,
    `cat probability ${before.cat_probability} on WebGPU, ${after.cat_probability} on the CPU`);
}

/** Loads a head file into the page and waits until the page accepted it. */
async function loadHead(page, path) {
  await useSmallRun(page);
  await page.getByTestId('head-upload').setInputFiles(path);
  await page.getByTestId('head-info').filter({ hasText: 'loaded from' }).waitFor();
  await page.waitForFunction(() => !document.querySelector('[data-testid=train]').disabled);
  assert.equal(await page.getByTestId('error').textContent(), '');
}

describe('WebGPU unavailable', () => {
  const cases = [
    ['no navigator.gpu', PRELUDES.noGpu, /navigator\.gpu is missing/],
    ['adapter request returning null', PRELUDES.noAdapter, /found no WebGPU adapter/],
    ['adapter claiming a feature it lacks', PRELUDES.claimsF16, /^the WebGPU device could not be created \(TypeError: .*shader-f16.*\)/],
    ['device request rejected', PRELUDES.deviceRejected, /^the WebGPU device could not be created \(TypeError: Unsupported feature: shader-f16\)/],
  ];
  for (const [name, prelude, reason] of cases) {
    test(`${name} falls back to the CPU`, { timeout: WORK_TIMEOUT }, async () => {
      const browser = await launch(WEBGPU_FLAGS);
      try {
        const session = await open(await browser.newContext(), '?backend=auto', prelude);
        const { page } = session;
        assert.equal(await page.getByTestId('backend').textContent(), 'cpu');
        const notice = await page.locator('#notice').textContent();
        console.log(`${name}: ${notice}`);
        assert.match(notice, reason);
        assert.match(notice, /using the CPU backend$/);
        assert.doesNotMatch(notice, /\n|wasm-function/);
        await trainAndClassify(page);
        assertClean(session);
      } finally {
        await browser.close();
      }
    });
  }
});

describe('WebGPU device lost', () => {
  // The page logs the failure it recovers from, and the worker logs calls that it failed.
  const expected = [/WebGPU device was lost/, /the model was restarted/];

  test('during training restarts the run on the CPU', { timeout: WORK_TIMEOUT }, async () => {
    const browser = await launch(WEBGPU_FLAGS);
    try {
      const session = await open(await browser.newContext(), '?backend=webgpu', PRELUDES.keepDevices);
      const { page } = session;
      assert.equal(await page.getByTestId('backend').textContent(), 'webgpu');
      await useSmallRun(page);
      await page.getByTestId('train').click();
      await page.locator('#progress-text').filter({ hasText: /^training: epoch/ }).waitFor({ timeout: WORK_TIMEOUT });
      await destroyDevices(page);

      // The page restarts on the CPU backend and trains again there. It shows the failure
      // until the new run starts.
      await page.getByTestId('backend').filter({ hasText: 'cpu' }).waitFor({ timeout: WORK_TIMEOUT });
      await page.waitForFunction(() => window.catvnoncat.resultCount > 0, null, { timeout: WORK_TIMEOUT, polling: 250 });
      await page.waitForFunction(() => !document.querySelector('[data-testid=train]').disabled);
      assert.equal(await page.getByTestId('error').textContent(), '');
      const result = await page.evaluate(() => window.catvnoncat.lastResult);
      assert.match(await page.locator('#notice').textContent(),
        /^the webgpu backend failed \(the WebGPU device was lost \(.+\)\); restarted on the CPU backend$/);
      assert.equal(result.history.length, EPOCHS);
      assert.match(await page.getByTestId('head-info').textContent(), /trained in this tab on the cpu backend/);
      const prediction = await classifyUpload(page);
      assert.match(prediction.class, /^(cat|non-cat)$/);
      assertClean(session, expected);
    } finally {
      await browser.close();
    }
  });

  test('while idle restarts on the CPU with the head', { timeout: WORK_TIMEOUT }, async () => {
    const head = await cpuHead();
    const browser = await launch(WEBGPU_FLAGS);
    try {
      const { session, before } = await webgpuWithHead(browser, head);
      const { page } = session;

      await destroyDevices(page);
      await page.getByTestId('backend').filter({ hasText: 'cpu' }).waitFor({ timeout: WORK_TIMEOUT });
      await page.waitForFunction(() => !document.querySelector('[data-testid=train]').disabled);
      assert.match(await page.locator('#notice').textContent(), /WebGPU device was lost .*; restarted on the CPU backend$/);
      const afterLoss = await classifyUpload(page);
      assertSamePrediction(before, afterLoss);
      assertClean(session, expected);
    } finally {
      await browser.close();
    }
  });

  test('during webcam classification keeps the head and the webcam', { timeout: WORK_TIMEOUT }, async () => {
    const head = await cpuHead();
    const browser = await launch([...WEBGPU_FLAGS, ...cameraFlags(files.video)]);
    try {
      const { session, before } = await webgpuWithHead(browser, head);
      const { page } = session;

      await page.locator('#camera-start').click();
      await page.locator('#fps').filter({ hasText: 'frames/s' }).waitFor({ timeout: WORK_TIMEOUT });
      await destroyDevices(page);
      await page.getByTestId('backend').filter({ hasText: 'cpu' }).waitFor({ timeout: WORK_TIMEOUT });
      assert.match(await page.locator('#notice').textContent(), /WebGPU device was lost .*; restarted on the CPU backend$/);

      // The webcam goes on: frames are classified on the CPU backend.
      const count = await page.evaluate(() => window.catvnoncat.predictionCount);
      await page.waitForFunction((previous) => window.catvnoncat.predictionCount > previous + 2, count, { timeout: WORK_TIMEOUT });
      assert.equal(await page.locator('#camera-stop').isEnabled(), true);
      await page.locator('#camera-stop').click();

      const afterLoss = await classifyUpload(page);
      assertSamePrediction(before, afterLoss);
      const kept = await page.evaluate(() => new Promise((resolve, reject) => {
        const request = indexedDB.open('catvnoncat');
        request.onerror = () => reject(request.error);
        request.onsuccess = () => {
          const get = request.result.transaction('heads').objectStore('heads').get('current');
          get.onsuccess = () => resolve(Array.from(new Uint8Array(get.result.bytes)));
          get.onerror = () => reject(get.error);
        };
      }));
      assert.deepEqual(Buffer.from(kept), readFileSync(head));
      assertClean(session, expected);
    } finally {
      await browser.close();
    }
  });
});

describe('camera failures', () => {
  // Each failure is shown in the page, and an upload is then classified as before.
  const cases = [
    // Without the fake-UI flag, headless Chromium denies the camera permission.
    ['permission denied', ['--use-fake-device-for-media-stream'], /camera permission was denied/, null],
    // With the permission granted but no fake device, Chromium finds no camera.
    ['no camera', ['--use-fake-ui-for-media-stream'], /no camera was found/, null],
    ['camera stopped by the system', null, /the camera was stopped by the system/, 'stop'],
  ];
  for (const [name, flags, message, action] of cases) {
    test(`${name} shows a message and uploads still work`, { timeout: WORK_TIMEOUT }, async () => {
      const head = await cpuHead();
      const browser = await launch(flags ?? cameraFlags(files.video));
      try {
        const session = await open(await browser.newContext(), '?backend=cpu');
        const { page } = session;
        await loadHead(page, head);
        const before = await classifyUpload(page);

        await page.locator('#camera-start').click();
        if (action === 'stop') {
          await page.locator('#fps').filter({ hasText: 'frames/s' }).waitFor({ timeout: WORK_TIMEOUT });
          // A track that the system ends fires `ended`; stop() alone does not fire it.
          await page.evaluate(() => {
            const [track] = document.getElementById('video').srcObject.getVideoTracks();
            track.stop();
            track.dispatchEvent(new Event('ended'));
          });
        }
        await page.getByTestId('error').filter({ hasText: message }).waitFor();
        assert.match(await page.getByTestId('error').textContent(), /upload an image/);
        assert.equal(await page.locator('#camera-start').isEnabled(), true);
        assert.equal(await page.locator('#camera-stop').isEnabled(), false);

        const afterFailure = await classifyUpload(page);
        assert.deepEqual(afterFailure, before);
        assertClean(session);
      } finally {
        await browser.close();
      }
    });
  }
});
