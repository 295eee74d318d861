// Keeps the trained head in this browser (IndexedDB) and saves it as a file.

const DATABASE = 'catvnoncat';
const STORE = 'heads';
const KEY = 'current';

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function transaction(mode, work) {
  const database = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = database.transaction(STORE, mode);
      const request = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error('the browser aborted the storage request'));
    });
  } finally {
    database.close();
  }
}

/** Stores the head's file bytes with the settings that made it and where it came from. */
export function keep(bytes, config, origin) {
  const record = { bytes: bytes.slice().buffer, config, origin, savedAt: new Date().toISOString() };
  return transaction('readwrite', (store) => store.put(record, KEY));
}

/** Resolves to the kept record `{bytes, config, origin, savedAt}`, or undefined. */
export function kept() {
  return transaction('readonly', (store) => store.get(KEY));
}

export function forget() {
  return transaction('readwrite', (store) => store.delete(KEY));
}

/** Offers `bytes` to the user as a file download. */
export function download(bytes, fileName, type = 'application/octet-stream') {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const link = Object.assign(document.createElement('a'), { href: url, download: fileName });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
