// upload.js - send a recording file to POST .../audio and follow its job
// until it is transcribed.  XMLHttpRequest, not fetch, because only it
// reports how much of the body has been sent.

// progress(phase, fraction): phase 'uploading' (the bytes) or
// 'transcribing' (the server's job), fraction 0..1.  Resolves with the
// finished job; rejects with an Error whose message a person can act on.
export function uploadRecording(id, file, progress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/transcriptions/${id}/audio?wait=0&smart_format=true`);
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) progress('uploading', e.loaded / e.total);
    };
    xhr.onerror = () => reject(new Error('the connection to the server failed'));
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status !== 200 && xhr.status !== 202) {
        reject(new Error((body && typeof body.detail === 'string' && body.detail) ||
                         `HTTP ${xhr.status}`));
        return;
      }
      follow(body, progress).then(resolve, reject);
    };
    progress('uploading', 0);
    xhr.send(file);
  });
}

async function follow(job, progress) {
  while (job.status === 'running') {
    progress('transcribing', job.progress);
    await new Promise((r) => setTimeout(r, 500));
    const response = await fetch(job.url);
    if (!response.ok) throw new Error(`the job was lost (HTTP ${response.status})`);
    job = await response.json();
  }
  if (job.status === 'failed') {
    const error = new Error(job.error);
    error.job = job;
    throw error;
  }
  progress('transcribing', 1);
  return job;
}

// A file dropped on the list waits here for the transcript page it opens.
let handed = null;
export function handOver(id, file) {
  handed = { id, file };
}
export function takeHandedOver(id) {
  const file = handed && handed.id === id ? handed.file : null;
  handed = null;
  return file;
}

// Calls onFile(file) with the first file dropped on target, while
// allowed() says a drop is welcome; target has the class "dropping"
// while a file is dragged over it.  Returns what removes all that (the
// app's root outlives each page).
export function dropTarget(target, onFile, allowed = () => true) {
  const hasFiles = (e) => e.dataTransfer && [...e.dataTransfer.types].includes('Files');
  const stop = new AbortController();
  const on = (type, fn) => target.addEventListener(type, fn, { signal: stop.signal });
  let depth = 0;
  on('dragenter', (e) => {
    if (!hasFiles(e) || !allowed()) return;
    depth++;
    target.classList.add('dropping');
  });
  on('dragleave', () => {
    if (depth > 0 && --depth === 0) target.classList.remove('dropping');
  });
  on('dragover', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault(); // a drop here, not the browser opening the file
    e.dataTransfer.dropEffect = allowed() ? 'copy' : 'none';
  });
  on('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    target.classList.remove('dropping');
    const file = e.dataTransfer.files[0];
    if (file && allowed()) onFile(file);
  });
  return () => {
    stop.abort();
    target.classList.remove('dropping');
  };
}
