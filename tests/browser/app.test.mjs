// The whole job in a real browser: train in the tab on each backend, classify uploads and
// webcam frames, recover from bad input, and agree between backends.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WEBGPU_FLAGS, cameraFlags, encodePng, encodeY4m, launch, readTestImages, recordRequests, startServer } from './helpers.mjs';

const PORT = Number(process.env.TEST_PORT ?? 8765);
const ORIGIN = `http://127.0.0.1:${PORT}`;
// Test image 2 is a cat and test image 14 a non-cat. The native default head gives them
// cat probabilities of 1.00 and 0.00, far from the threshold.
const CAT = 2;
const NON_CAT = 14;
const TRAIN_TIMEOUT = 40 * 60_000;

let server;
const files = {};

before(async () => {
  server = await startServer(PORT);
  const dir = mkdtempSync(join(tmpdir(), 'catvnoncat-'));
  const images = readTestImages();
  assert.equal(images[CAT].label, 1);
  assert.equal(images[NON_CAT].label, 0);
  files.cat = join(dir, 'cat.png');
  files.nonCat = join(dir, 'non-cat.png');
  files.text = join(dir, 'notes.png');
  files.video = join(dir, 'cat.y4m');
  writeFileSync(files.cat, encodePng(images[CAT].rgb, 64, 64));
  writeFileSync(files.nonCat, encodePng(images[NON_CAT].rgb, 64, 64));
  writeFileSync(files.text, 'this is a text file, not an image');
  writeFileSync(files.video, encodeY4m(images[CAT].rgb, 64));
});

after(() => server?.kill());

/** Opens the page and fails the test on any page error or request outside the server. */
async function open(browser, query) {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const requests = recordRequests(page, ORIGIN);
  await page.goto(`${ORIGIN}/${query}`);
  await page.getByTestId('backend').filter({ hasNotText: 'starting' }).waitFor();
  return { page, errors, requests };
}

async function trainAndReadAccuracy(page) {
  await page.getByTestId('train').click();
  const accuracy = page.getByTestId('test-accuracy');
  await accuracy.filter({ hasText: '%' }).waitFor({ timeout: TRAIN_TIMEOUT });
  return parseFloat(await accuracy.textContent());
}

async function upload(page, file) {
  await page.locator('#upload').setInputFiles(file);
}

async function expectPrediction(page, className) {
  const prediction = page.getByTestId('prediction');
  await prediction.filter({ hasText: new RegExp(`^${className} \\(`) }).waitFor({ timeout: 60_000 });
}

for (const backend of ['cpu', 'webgpu']) {
  describe(`${backend} backend`, () => {
    let browser;
    let session;

    before(async () => {
      browser = await launch([...(backend === 'webgpu' ? WEBGPU_FLAGS : []), ...cameraFlags(files.video)]);
      session = await open(browser, `?backend=${backend}&epochs=20`);
    });

    after(() => browser?.close());

    test('page uses the requested backend', async () => {
      assert.equal(await session.page.getByTestId('backend').textContent(), backend);
    });

    test('head trained in the tab reaches 90%', { timeout: TRAIN_TIMEOUT }, async () => {
      const accuracy = await trainAndReadAccuracy(session.page);
      console.log(`${backend}: accuracy on the 50 test images ${accuracy}%`);
      assert.ok(accuracy >= 90, `accuracy ${accuracy}%`);
      const cells = await session.page.getByTestId('confusion-matrix').locator('td').allTextContents();
      assert.equal(cells.map(Number).reduce((sum, count) => sum + count, 0), 50);
    });

    test('uploaded test images get their class', async () => {
      await upload(session.page, files.cat);
      await expectPrediction(session.page, 'cat');
      await upload(session.page, files.nonCat);
      await expectPrediction(session.page, 'non-cat');
    });

    test('invalid file shows an error and the page recovers', async () => {
      await upload(session.page, files.text);
      await session.page.getByTestId('error').filter({ hasText: 'not a supported image' }).waitFor();
      await upload(session.page, files.cat);
      await expectPrediction(session.page, 'cat');
      assert.equal(await session.page.getByTestId('error').textContent(), '');
    });

    test('webcam frame of a cat shows cat', async () => {
      await upload(session.page, files.nonCat);
      await expectPrediction(session.page, 'non-cat');
      await session.page.locator('#camera-start').click();
      await expectPrediction(session.page, 'cat');
      await session.page.locator('#fps').filter({ hasText: 'frames/s' }).waitFor();
      await session.page.waitForTimeout(3000);
      console.log(`${backend}: webcam ${await session.page.locator('#fps').textContent()}`);
      await session.page.locator('#camera-stop').click();
    });

    test('no page errors and no outside requests', () => {
      assert.deepEqual(session.errors, []);
      assert.deepEqual(session.requests.outside(), []);
    });
  });
}

test('base features agree between WebGPU and CPU', { timeout: 20 * 60_000 }, async () => {
  const read = async (flags, backend) => {
    const browser = await launch(flags);
    try {
      const { page } = await open(browser, `?backend=${backend}`);
      assert.equal(await page.getByTestId('backend').textContent(), backend);
      await page.locator('#grid figure').first().waitFor();
      return await page.evaluate(async () => {
        await window.catvnoncat.ensureWeights();
        return window.catvnoncat.baseFeatures(0, 4);
      });
    } finally {
      await browser.close();
    }
  };
  const cpu = await read([], 'cpu');
  const webgpu = await read(WEBGPU_FLAGS, 'webgpu');
  assert.equal(cpu.length, 4 * 2048);
  assert.equal(webgpu.length, cpu.length);
  const scale = Math.max(...cpu.map(Math.abs));
  const worst = Math.max(...cpu.map((value, i) => Math.abs(value - webgpu[i])));
  console.log(`largest difference ${worst} at a scale of ${scale}`);
  assert.ok(worst / scale <= 1e-3, `relative difference ${worst / scale}`);
});

test('missing WebGPU falls back to the CPU with a message', async () => {
  const browser = await launch([]);
  try {
    const { page, errors } = await open(browser, '?backend=webgpu');
    assert.equal(await page.getByTestId('backend').textContent(), 'cpu');
    const notice = await page.locator('#notice').textContent();
    assert.match(notice, /WebGPU/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
