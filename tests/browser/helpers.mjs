// Shared pieces of the browser tests: the server, the browser, and test inputs made from the
// real data (PNG files and a YUV4MPEG2 video for Chromium's fake camera).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { deflateSync, crc32 } from 'node:zlib';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

export const ROOT = new URL('../../', import.meta.url).pathname;

/** Starts `./build.sh serve-only` on `port` and resolves once it listens. */
export function startServer(port) {
  const server = spawn('bash', ['build.sh', 'serve-only'], { cwd: ROOT, env: { ...process.env, PORT: String(port) } });
  let stderr = '';
  server.stderr.on('data', (chunk) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server did not start within 20 s')), 20_000);
    server.stdout.on('data', (chunk) => {
      if (chunk.toString().includes('serving http://127.0.0.1')) {
        clearTimeout(timer);
        resolve(server);
      }
    });
    server.on('exit', (code) => reject(new Error(`the server exited with ${code}: ${stderr.trim().split('\n').pop()}`)));
  });
}

/** Launches Debian's Chromium headless with the given extra flags. */
export function launch(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', ...extraArgs,
    ],
  });
}

/** Flags that give Chromium a WebGPU adapter (SwiftShader, on the CPU). */
export const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader', '--use-webgpu-adapter=swiftshader'];

/** Flags that feed `video` to getUserMedia and grant the camera permission. */
export const cameraFlags = (video) => ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${video}`];

/**
 * Records every request of a page or a browser context; `all()` lists them and `outside()`
 * those not sent to `origin`.
 */
export function recordRequests(target, origin) {
  const urls = [];
  target.on('request', (request) => urls.push(request.url()));
  return {
    all: () => [...urls],
    outside: () => urls.filter((url) => !url.startsWith(origin) && !url.startsWith('blob:') && !url.startsWith('data:')),
  };
}

/**
 * Opens the page at `origin` with `query` and waits until it has started. Records page errors
 * (uncaught exceptions and unhandled rejections), Rust panics printed to the console by the
 * page or its worker, and requests outside the server.
 */
export async function openPage(context, origin, query) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const panics = [];
  const onConsole = (message) => {
    if (message.text().includes('panicked at')) panics.push(message.text());
  };
  page.on('console', onConsole);
  page.on('worker', (worker) => worker.on?.('console', onConsole));
  const requests = recordRequests(page, origin);
  await page.goto(`${origin}/${query}`);
  await page.getByTestId('backend').filter({ hasNotText: 'starting' }).waitFor();
  await page.locator('#grid figure').first().waitFor();
  return { page, errors, panics, requests };
}

/** Runs `action` and resolves to the next result the page shows, or fails with the page's error. */
export async function waitForResult(page, action, timeout) {
  const count = await page.evaluate(() => window.catvnoncat.resultCount);
  await action();
  await page.waitForFunction((previous) => window.catvnoncat.resultCount > previous ||
    document.querySelector('[data-testid=error]').textContent !== '', count, { timeout, polling: 250 });
  assert.equal(await page.getByTestId('error').textContent(), '');
  return page.evaluate(() => window.catvnoncat.lastResult);
}

/** Sets a settings field (input or select) and sends the change event the page listens to. */
export async function setField(page, selector, value) {
  const field = page.locator(selector);
  if (await field.evaluate((element) => element.tagName === 'SELECT')) await field.selectOption(String(value));
  else await field.fill(String(value));
  await field.dispatchEvent('change');
}

/** Uploads an image to classify and waits until the page has handled it. */
export async function upload(page, file) {
  await page.locator('#upload').setInputFiles(file);
  await page.waitForFunction(() => !document.querySelector('[data-testid=train]').disabled);
}

/** Waits until the page shows a prediction of `className`. */
export async function expectPrediction(page, className) {
  const prediction = page.getByTestId('prediction');
  await prediction.filter({ hasText: new RegExp(`^${className} \\(`) }).waitFor({ timeout: 60_000 });
}

/** Reads the packed data file that the page loads: test images (RGB) and labels. */
export function readTestImages() {
  const bytes = readFileSync(`${ROOT}www/data/catvnoncat.bin`);
  const headerLength = bytes.readUInt32LE(12);
  const header = JSON.parse(bytes.subarray(16, 16 + headerLength).toString());
  const imageBytes = header.height * header.width * 3;
  const testStart = 16 + headerLength + header.train_count * (imageBytes + 1);
  const labelsStart = testStart + header.test_count * imageBytes;
  return Array.from({ length: header.test_count }, (_, index) => ({
    rgb: bytes.subarray(testStart + index * imageBytes, testStart + (index + 1) * imageBytes),
    label: bytes[labelsStart + index],
    size: header.width,
  }));
}

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

/** Encodes RGB pixels as an 8-bit PNG. */
export function encodePng(rgb, width, height) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const rows = Buffer.alloc(height * (width * 3 + 1));
  for (let y = 0; y < height; y++) {
    rows[y * (width * 3 + 1)] = 0;
    rgb.copy(rows, y * (width * 3 + 1) + 1, y * width * 3, (y + 1) * width * 3);
  }
  const signature = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
  return Buffer.concat([signature, chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

/** Writes a YUV4MPEG2 video (4:2:0, BT.601 full range) repeating one RGB image. */
export function encodeY4m(rgb, size, frames = 30) {
  const luma = Buffer.alloc(size * size);
  const half = size / 2;
  const cb = Buffer.alloc(half * half);
  const cr = Buffer.alloc(half * half);
  const clamp = (value) => Math.max(0, Math.min(255, Math.round(value)));
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 3;
      luma[y * size + x] = clamp(0.299 * rgb[i] + 0.587 * rgb[i + 1] + 0.114 * rgb[i + 2]);
    }
  }
  for (let y = 0; y < half; y++) {
    for (let x = 0; x < half; x++) {
      let r = 0, g = 0, b = 0;
      for (const [dy, dx] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
        const i = ((2 * y + dy) * size + 2 * x + dx) * 3;
        r += rgb[i] / 4;
        g += rgb[i + 1] / 4;
        b += rgb[i + 2] / 4;
      }
      cb[y * half + x] = clamp(128 - 0.168736 * r - 0.331264 * g + 0.5 * b);
      cr[y * half + x] = clamp(128 + 0.5 * r - 0.418688 * g - 0.081312 * b);
    }
  }
  const frame = Buffer.concat([Buffer.from('FRAME\n'), luma, cb, cr]);
  const header = Buffer.from(`YUV4MPEG2 W${size} H${size} F30:1 Ip A1:1 C420jpeg\n`);
  return Buffer.concat([header, ...Array(frames).fill(frame)]);
}
