// Peak memory of the browser's processes, read from Linux's /proc. Chromium runs the page and
// its workers in a renderer process, and WebGPU (SwiftShader here) in the GPU process. VmHWM is
// the kernel's record of a process's peak resident memory, so no sampling can miss a peak.
import { readFileSync, readdirSync } from 'node:fs';

function readProc(pid, file) {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return null; // the process ended meanwhile
  }
}

/** Returns the ids of all processes below `root`. */
function descendants(root) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProc(name, 'stat');
    if (!stat) continue;
    // The parent id is the second field after the command name, which may contain spaces.
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(Number(name));
  }
  const found = [];
  const queue = [root];
  while (queue.length) {
    for (const child of children.get(queue.shift()) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function peakBytes(pid) {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readProc(pid, 'status') ?? '');
  return match ? Number(match[1]) * 1024 : 0;
}

/**
 * Returns the largest peak resident memory of this process's Chromium renderers (the tab) and
 * of its GPU process, in bytes. Call it with one browser open, before closing it.
 */
export function peakMemory() {
  let rendererBytes = 0;
  let gpuBytes = 0;
  for (const pid of descendants(process.pid)) {
    const commandLine = readProc(pid, 'cmdline') ?? '';
    if (commandLine.includes('--type=renderer')) rendererBytes = Math.max(rendererBytes, peakBytes(pid));
    if (commandLine.includes('--type=gpu-process')) gpuBytes = Math.max(gpuBytes, peakBytes(pid));
  }
  return { rendererBytes, gpuBytes };
}
