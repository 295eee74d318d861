// The whole workflow in a real browser, on each backend. The tests look at the data, split it,
// build and compile the model, train (with live curves, Stop and early stopping), evaluate and
// keep the head. They also classify uploads and webcam frames, recover from bad input, and
// compare the backends.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ROOT, WEBGPU_FLAGS, cameraFlags, encodePng, encodeY4m, expectPrediction, launch, openPage, readTestImages, setField, startServer, upload,
  waitForResult,
} from './helpers.mjs';

const PORT = Number(process.env.TEST_PORT ?? 8765);
const ORIGIN = `http://127.0.0.1:${PORT}`;
// Test image 2 is a cat and test image 14 a non-cat. The native default head gives them
// cat probabilities of 1.00 and 0.00, far from the threshold.
const CAT = 2;
const NON_CAT = 14;
const TRAIN_TIMEOUT = 40 * 60_000;
// VGG16 without its top: 14,714,688 frozen parameters.
const BASE_PARAMS = 14_714_688;
const CLI = process.env.CATVNONCAT_CLI ?? join(ROOT, 'target/release/catvnoncat');

let server;
const files = {};
let dir;

before(async () => {
  server = await startServer(PORT);
  dir = mkdtempSync(join(tmpdir(), 'catvnoncat-'));
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

const open = (context, query) => openPage(context, ORIGIN, query);

const integer = async (page, testId) => Number(await page.getByTestId(testId).textContent());

/** Clicks Train and resolves to the result, or fails with the page's error. */
async function train(page) {
  return nextResult(page, () => page.getByTestId('train').click());
}

const nextResult = (page, action) => waitForResult(page, action, TRAIN_TIMEOUT);

async function resetSettings(page, epochs) {
  await page.locator('#reset-settings').click();
  await page.getByTestId('trainable-params').filter({ hasText: /^524801$/ }).waitFor();
  await setField(page, '#epochs', epochs);
}

async function downloadHead(page, name) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('head-download').click()]);
  const path = join(dir, name);
  await download.saveAs(path);
  return path;
}

/** Uploads a head file and waits until the page accepted it or showed an error. */
async function uploadHead(page, path) {
  const info = await page.getByTestId('head-info').textContent();
  await page.getByTestId('head-upload').setInputFiles(path);
  await page.waitForFunction((previous) => document.querySelector('[data-testid=head-info]').textContent !== previous ||
    document.querySelector('[data-testid=error]').textContent !== '', info);
  await page.waitForFunction(() => !document.querySelector('[data-testid=train]').disabled);
}

for (const backend of ['cpu', 'webgpu']) {
  describe(`${backend} backend`, () => {
    let browser;
    let context;
    let session;
    let trained;
    // SwiftShader runs WebGPU on the CPU at about 6 s per epoch; short runs keep it bearable.
    const shortEpochs = backend === 'webgpu' ? 3 : 5;

    before(async () => {
      browser = await launch([...(backend === 'webgpu' ? WEBGPU_FLAGS : []), ...cameraFlags(files.video)]);
      context = await browser.newContext();
      session = await open(context, `?backend=${backend}&epochs=20`);
    });

    after(() => browser?.close());

    test('page uses the requested backend', async () => {
      assert.equal(await session.page.getByTestId('backend').textContent(), backend);
    });

    test('data grid pages through each split with its labels', async () => {
      const { page } = session;
      const info = await page.locator('#data-info').textContent();
      assert.match(info, /Classes from the data file: non-cat, cat\. Training: 209 images \(72 cats, 137 non-cats\)/);
      assert.equal(await page.locator('#grid figure').count(), 24);
      const captions = await page.locator('#grid figcaption').allTextContents();
      assert.ok(captions.every((caption, index) => new RegExp(`^#${index}: (cat|non-cat)$`).test(caption)), captions.join(' | '));
      await page.locator('#grid-next').click();
      await page.locator('#grid-page').filter({ hasText: 'images 25–48 of 209' }).waitFor();
      await page.locator('#grid-split').selectOption('validation');
      await page.locator('#grid-page').filter({ hasText: 'of 26' }).waitFor();
      await page.locator('#grid-split').selectOption('train');
      await page.locator('#grid-page').filter({ hasText: 'images 1–24 of 209' }).waitFor();
    });

    test('validation split follows its fraction and seed, stratified', async () => {
      const { page } = session;
      const split = page.getByTestId('split-info');
      assert.equal(await split.textContent(),
        'Validation part: 26 images (17 cats, 9 non-cats). Test part: 24 images (16 cats, 8 non-cats).');
      await setField(page, '#validation-fraction', 0.4);
      // round(0.4 * 33) = 13 cats and round(0.4 * 17) = 7 non-cats.
      await split.filter({ hasText: 'Validation part: 20 images (13 cats, 7 non-cats). Test part: 30 images (20 cats, 10 non-cats).' }).waitFor();
      await setField(page, '#validation-fraction', 0.5);
      await split.filter({ hasText: 'Validation part: 26 images' }).waitFor();
    });

    test('changing the head changes the summary and the diagram', async () => {
      const { page } = session;
      assert.equal(await integer(page, 'trainable-params'), 2048 * 256 + 256 + 256 + 1);
      assert.equal(await integer(page, 'total-params'), BASE_PARAMS + 524_801);
      await setField(page, '#pooling', 'global_average');
      await setField(page, '.dense-layer .units', 64);
      await setField(page, '#output', 'softmax');
      const expected = 512 * 64 + 64 + 64 * 2 + 2;
      await page.getByTestId('trainable-params').filter({ hasText: new RegExp(`^${expected}$`) }).waitFor();
      assert.equal(await integer(page, 'total-params'), BASE_PARAMS + expected);
      assert.equal(await page.locator('#loss').inputValue(), 'categorical_crossentropy');

      const rows = await page.getByTestId('summary').locator('tr').count();
      assert.equal(await page.locator('#diagram g.diagram-layer').count(), rows - 1);
      assert.equal(await page.locator('#diagram g.diagram-layer.frozen').count(), 19);
      assert.deepEqual(await page.locator('#diagram g.diagram-layer.trainable').evaluateAll((groups) => groups.map((group) => group.dataset.layer)),
        ['global_average_pooling2d', 'dense', 'dropout', 'dense_1']);

      await page.locator('#add-layer').click();
      await page.getByTestId('trainable-params').filter({ hasText: new RegExp(`^${512 * 64 + 64 + 64 * 64 + 64 + 64 * 2 + 2}$`) }).waitFor();
      await setField(page, '#input-size', 224);
      await page.getByTestId('summary').locator('tr', { hasText: 'block5_pool' }).filter({ hasText: '(None, 7, 7, 512)' }).waitFor();
      assert.match(await page.locator('#input-cost').textContent(), /30\.7 GFLOP per image \(12\.25x the 64 x 64 cost\)/);
      await resetSettings(page, 20);
    });

    test('head trained in the tab reaches 90% with curves, ROC and misclassified images', { timeout: TRAIN_TIMEOUT }, async () => {
      const { page } = session;
      trained = await train(page);
      const accuracy = parseFloat(await page.getByTestId('test-accuracy').textContent());
      console.log(`${backend}: accuracy on the 50 test images ${accuracy}%`);
      assert.ok(accuracy >= 90, `accuracy ${accuracy}%`);
      const cells = (await page.getByTestId('confusion-matrix').locator('td').allTextContents()).map(Number);
      assert.equal(cells.reduce((sum, count) => sum + count, 0), 50);

      assert.equal(trained.history.length, 20);
      assert.equal(await page.evaluate(() => window.catvnoncat.curvePoints), 20);
      assert.equal(await page.locator('#loss-chart canvas').count(), 1);
      assert.equal(await page.locator('#progress-text').textContent(), 'training: epoch 20 of 20, batch 7 of 7');
      const metricNames = await page.getByTestId('metrics').locator('tr td:first-child').allTextContents();
      assert.deepEqual(metricNames, ['accuracy', 'precision', 'recall', 'ROC AUC', 'accuracy on non-cats', 'accuracy on cats']);
      const auc = Number((await page.getByTestId('roc-auc').textContent()).split(': ')[1]);
      assert.ok(Math.abs(auc - trained.evaluation.all.roc_auc) < 1e-3, `AUC shown ${auc}, computed ${trained.evaluation.all.roc_auc}`);
      assert.ok(auc > 0.9, `AUC ${auc}`);
      const [, falsePositives, falseNegatives] = cells;
      assert.equal(await page.locator('#misclassified figure').count(), falsePositives + falseNegatives);
    });

    test('a downloaded head loads back and gives identical predictions', { timeout: TRAIN_TIMEOUT }, async () => {
      const { page } = session;
      const saved = await downloadHead(page, `head-${backend}.safetensors`);
      files.head = saved;
      await setField(page, '#seed', 7);
      await setField(page, '#epochs', shortEpochs);
      const other = await train(page);
      assert.notDeepEqual(other.evaluation.probabilities, trained.evaluation.probabilities);

      const reloaded = await nextResult(page, () => page.getByTestId('head-upload').setInputFiles(saved));
      assert.match(await page.getByTestId('head-info').textContent(), /loaded from head-/);
      assert.deepEqual(reloaded.evaluation.probabilities, trained.evaluation.probabilities);
      await resetSettings(page, 20);
    });

    test('Stop keeps a usable head', { timeout: TRAIN_TIMEOUT }, async () => {
      const { page } = session;
      await setField(page, '#epochs', 500);
      const result = await nextResult(page, async () => {
        await page.getByTestId('train').click();
        await page.getByTestId('history').locator('tr').nth(2).waitFor({ state: 'attached', timeout: TRAIN_TIMEOUT });
        await page.getByTestId('stop').click();
      });
      assert.match(await page.getByTestId('train-status').textContent(), /stopped at epoch/);
      assert.ok(result.stopped);
      assert.ok(result.history.length >= 2, `${result.history.length} epochs`);
      assert.ok(result.history.length < 500, `${result.history.length} epochs`);
      assert.match(await page.getByTestId('test-accuracy').textContent(), /%$/);
      await upload(page, files.cat);
      await expectPrediction(page, 'cat');
      await resetSettings(page, 20);
    });

    test('early stopping keeps the epoch with the lowest validation loss', { timeout: TRAIN_TIMEOUT }, async () => {
      const { page } = session;
      await setField(page, '#learning-rate', 0.001);
      await setField(page, '#epochs', 200);
      await page.locator('#early-stopping').check();
      await setField(page, '#patience', 2);
      const result = await train(page);
      const losses = result.history.map((report) => report.validation_loss);
      const best = losses.indexOf(Math.min(...losses)) + 1;
      assert.ok(result.history.length < 200, `${result.history.length} epochs`);
      assert.equal(result.kept_epoch, best);
      assert.equal(result.history.length - best, 2);
      assert.match(await page.getByTestId('train-status').textContent(), new RegExp(`kept the weights of epoch ${best},`));
      await page.locator('#early-stopping').uncheck();
      await resetSettings(page, 20);
    });

    test('uploaded test images get their class', async () => {
      await uploadHead(session.page, files.head);
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

    test('the head is kept in the browser across page loads', async () => {
      const reopened = await open(context, `?backend=${backend}`);
      try {
        await reopened.page.getByTestId('head-info').filter({ hasText: 'kept in this browser since' }).waitFor();
        await upload(reopened.page, files.cat);
        await expectPrediction(reopened.page, 'cat');
        assert.deepEqual(reopened.errors, []);
      } finally {
        await reopened.page.close();
      }
    });

    test('no page errors and no outside requests', () => {
      assert.deepEqual(session.errors, []);
      assert.deepEqual(session.requests.outside(), []);
    });
  });
}

describe('cpu backend: head files and native parity', () => {
  let browser;
  let page;
  let errors;

  before(async () => {
    browser = await launch([]);
    ({ page, errors } = await open(await browser.newContext(), '?backend=cpu&epochs=20'));
  });

  after(() => browser?.close());

  test('mismatched head file is rejected', { timeout: TRAIN_TIMEOUT }, async () => {
    await setField(page, '#input-size', 32);
    await setField(page, '#epochs', 3);
    await train(page);
    const head32 = await downloadHead(page, 'head-32.safetensors');
    await setField(page, '#input-size', 64);
    await setField(page, '#epochs', 3);
    const current = await train(page);
    const info = await page.getByTestId('head-info').textContent();

    await uploadHead(page, head32);
    assert.match(await page.getByTestId('error').textContent(),
      /cannot load the head from head-32\.safetensors: it was made for 32x32 input images but the model is set to 64x64/);
    assert.equal(await page.getByTestId('head-info').textContent(), info);

    await setField(page, '.dense-layer .units', 128);
    await uploadHead(page, files.head);
    assert.match(await page.getByTestId('error').textContent(), /it has the layers Flatten, Dense\(256, relu\), Dropout\(0\.5\), Dense\(1, sigmoid\) but the model is set to Flatten, Dense\(128, relu\)/);

    await uploadHead(page, files.text);
    assert.match(await page.getByTestId('error').textContent(), /cannot load the head from notes\.png/);
    assert.equal(await page.getByTestId('head-info').textContent(), info);
    const after = await nextResult(page, () => page.locator('#evaluate').click());
    assert.deepEqual(after.evaluation.probabilities, current.evaluation.probabilities);
  });

  test('exported settings reproduce the run on the command line', { timeout: TRAIN_TIMEOUT }, async () => {
    assert.ok(existsSync(CLI), `the command line is missing at ${CLI}; run ./build.sh weights or set CATVNONCAT_CLI`);
    await resetSettings(page, 20);
    await setField(page, '#optimizer', 'rms_prop');
    await setField(page, '#learning-rate', 0.00005);
    const result = await train(page);
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#export-settings').click()]);
    const settingsFile = join(dir, 'settings.json');
    await download.saveAs(settingsFile);
    assert.equal(JSON.parse(readFileSync(settingsFile, 'utf8')).training.optimizer, 'rms_prop');

    // The page computes its features from the float16 weights it downloads, so the command line uses them too.
    const output = execFileSync(CLI, ['train', '--config', settingsFile, '--json', '--weights', 'weights/vgg16_notop_f16.safetensors',
      '--output', join(dir, 'native-head.safetensors')],
      { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
    const native = JSON.parse(output);
    assert.equal(native.history.length, result.history.length);
    native.history.forEach((report, index) => {
      const difference = Math.abs(report.train_loss - result.history[index].train_loss);
      assert.ok(difference < 1e-3, `epoch ${index + 1}: native loss ${report.train_loss}, page ${result.history[index].train_loss}`);
    });
    assert.equal(native.all_test.accuracy, result.evaluation.all.accuracy);
    assert.deepEqual(errors, []);
  });
});

test('base features agree between WebGPU and CPU', { timeout: 20 * 60_000 }, async () => {
  const read = async (flags, backend) => {
    const browser = await launch(flags);
    try {
      const { page } = await open(browser, `?backend=${backend}`);
      assert.equal(await page.getByTestId('backend').textContent(), backend);
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
