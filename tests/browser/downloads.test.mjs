// Damaged downloads of the page's own weights and data files. Playwright serves the damaged
// bytes in place of the real file, so nothing leaves 127.0.0.1. Each case must show an error
// that names the file, and once the real file is served again the page must load it and work:
// nothing of the damaged file may stay in use.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, launch, setField, startServer, waitForResult } from './helpers.mjs';

const PORT = Number(process.env.TEST_PORT ?? 8765);
const ORIGIN = `http://127.0.0.1:${PORT}`;
const WEIGHTS = 'weights/vgg16_notop_f16.safetensors';
const DATA = 'data/catvnoncat.bin';
const WORK_TIMEOUT = 20 * 60_000;
const EPOCHS = 3;

let server;
let browser;

before(async () => {
  server = await startServer(PORT);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.kill();
});

/** Returns the bytes of `path` with `change` applied, for serving in place of the real file. */
function damaged(path, change) {
  return change(Buffer.from(readFileSync(join(ROOT, 'www', path))));
}

/** Serves `body` in place of `path` to the page and its workers until the returned function is called. */
async function replace(context, path, body) {
  const pattern = `${ORIGIN}/${path}`;
  const handler = (route) => route.fulfill({ status: 200, contentType: 'application/octet-stream', body });
  await context.route(pattern, handler);
  return () => context.unroute(pattern, handler);
}

/** Opens the page on the CPU backend and records page errors and Rust panics. */
async function open(context) {
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(error.message));
  const onConsole = (message) => {
    if (message.text().includes('panicked at')) problems.push(message.text());
  };
  page.on('console', onConsole);
  page.on('worker', (worker) => worker.on?.('console', onConsole));
  await page.goto(`${ORIGIN}/?backend=cpu`);
  await page.getByTestId('backend').filter({ hasNotText: 'starting' }).waitFor();
  return { page, problems };
}

/** Clicks Train and waits until the page shows an error; returns its text. */
async function trainError(page) {
  await page.getByTestId('train').click();
  const error = page.getByTestId('error');
  await error.filter({ hasText: /\S/ }).waitFor({ timeout: WORK_TIMEOUT });
  await page.waitForFunction(() => !document.querySelector('[data-testid=train]').disabled);
  return error.textContent();
}

describe('damaged weights download', () => {
  const cases = [
    ['truncated to half', (bytes) => bytes.subarray(0, bytes.length >> 1), /is not a valid safetensors file/],
    ['one weight changed', (bytes) => {
      // A byte near the end lies in the last layer's float16 values, past the header.
      bytes[bytes.length - 100] ^= 0x40;
      return bytes;
    }, /weights fingerprint mismatch/],
    ['zeros', (bytes) => Buffer.alloc(bytes.length), /is not a valid safetensors file/],
  ];
  for (const [name, change, expected] of cases) {
    test(`${name} is rejected, then the real file trains`, { timeout: WORK_TIMEOUT }, async () => {
      const context = await browser.newContext();
      try {
        const restore = await replace(context, WEIGHTS, damaged(WEIGHTS, change));
        const { page, problems } = await open(context);
        await page.locator('#grid figure').first().waitFor({ timeout: WORK_TIMEOUT });
        await setField(page, '#epochs', EPOCHS);

        const message = await trainError(page);
        console.log(`weights ${name}: ${message}`);
        assert.match(message, new RegExp(WEIGHTS.replaceAll('.', '\\.')), 'the error names the file');
        assert.match(message, expected);

        await restore();
        const result = await waitForResult(page, () => page.getByTestId('train').click(), WORK_TIMEOUT);
        assert.equal(result.history.length, EPOCHS);
        const accuracy = parseFloat(await page.getByTestId('test-accuracy').textContent());
        assert.ok(accuracy >= 90, `test accuracy ${accuracy}% after the real weights`);
        assert.deepEqual(problems, []);
      } finally {
        await context.close();
      }
    });
  }
});

describe('damaged data download', () => {
  test('truncated file is rejected, then the real file loads', { timeout: WORK_TIMEOUT }, async () => {
    const context = await browser.newContext();
    try {
      const restore = await replace(context, DATA, damaged(DATA, (bytes) => bytes.subarray(0, 1000)));
      const { page, problems } = await open(context);
      const error = page.getByTestId('error');
      await error.filter({ hasText: /\S/ }).waitFor({ timeout: WORK_TIMEOUT });
      const message = await error.textContent();
      console.log(`data truncated: ${message}`);
      assert.match(message, new RegExp(DATA.replaceAll('.', '\\.')), 'the error names the file');
      assert.equal(await page.locator('#grid figure').count(), 0, 'no images from the damaged file');

      await restore();
      await setField(page, '#epochs', EPOCHS);
      const result = await waitForResult(page, () => page.getByTestId('train').click(), WORK_TIMEOUT);
      assert.equal(result.history.length, EPOCHS);
      const accuracy = parseFloat(await page.getByTestId('test-accuracy').textContent());
      assert.ok(accuracy >= 90, `test accuracy ${accuracy}% after the real data`);
      assert.ok(await page.locator('#grid figure').count() > 0, 'the grid shows the real data');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
