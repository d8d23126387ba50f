// Thin client for the Omnivec HTTP API (same origin). Errors surface as ApiError carrying the problem+json title/detail.
const KEY_STORAGE = 'omnivec.apiKey';

export const apiKey = {
  get() { try { return localStorage.getItem(KEY_STORAGE) ?? ''; } catch { return ''; } },
  set(value) {
    try {
      if (value) localStorage.setItem(KEY_STORAGE, value); else localStorage.removeItem(KEY_STORAGE);
    } catch { /* storage disabled: the key lives for this page only */ }
  },
};

export class ApiError extends Error {
  constructor(status, title, detail, problem = {}) {
    super(detail || title);
    this.problem = problem; // the whole problem+json body, for extensions such as an upload's per-file 'errors'
    this.name = 'ApiError';
    this.status = status;
    this.title = title;
    this.detail = detail;
  }
}

function problemFrom(status, statusText, contentType, bodyText) {
  let title = statusText || `HTTP ${status}`;
  let detail = '';
  let problem = {};
  if (contentType.includes('json')) {
    try {
      problem = JSON.parse(bodyText) ?? {};
      title = problem.title || title;
      detail = problem.detail || '';
    } catch { /* not JSON after all */ }
  } else if (bodyText) {
    detail = bodyText.slice(0, 300);
  }
  if (status === 0) { title = 'Network error'; detail = 'The server could not be reached.'; }
  return new ApiError(status, title, detail, problem);
}

function authHeaders(headers = {}) {
  const key = apiKey.get();
  return key ? { ...headers, Authorization: `Bearer ${key}` } : headers;
}

async function request(method, url, { json, form, signal } = {}) {
  const headers = authHeaders({ Accept: 'application/json' });
  let body;
  if (json !== undefined) { body = JSON.stringify(json); headers['Content-Type'] = 'application/json'; }
  else if (form) body = form;
  let res;
  try {
    res = await fetch(url, { method, headers, body, signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw problemFrom(0, '', '', '');
  }
  if (!res.ok) throw problemFrom(res.status, res.statusText, res.headers.get('content-type') ?? '', await res.text().catch(() => ''));
  if (res.status === 204) return null;
  return (res.headers.get('content-type') ?? '').includes('json') ? res.json() : null;
}

const enc = encodeURIComponent;

export function readAsDataUrl(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result);
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}

/** A multipart search by a file; all and sort as in searchItem. */
function rankingForm(field, file, name, collection, topK, { all = true, sort = 'score' } = {}) {
  const form = new FormData();
  form.append(field, file, name);
  form.append('collection', collection);
  form.append('top_k', String(topK));
  form.append('all', String(all));
  form.append('sort', sort);
  return form;
}

export const api = {
  health: () => request('GET', '/health'),
  collections: () => request('GET', '/v1/collections'),
  /**
   * A weighted query: terms like {text, weight}, {image: dataUrl, weight}, {audio: dataUrl, weight}, {item_id, weight};
   * all: no relevance cutoff (the answer says no_match when nothing stands out); mode: hybrid, vector or text;
   * sort: score, date, -date or path (applied to what passes the cutoff).
   */
  searchQuery: (collection, terms, topK, signal, { all = false, mode = 'hybrid', sort = 'score' } = {}) =>
    request('POST', '/v1/search', { json: { collection, query: terms, top_k: topK, all, mode, sort }, signal }),
  /** Neighbours of an indexed item; all: false applies the relevance cutoff (the page does when sorting by date or name). */
  searchItem: (collection, itemId, topK, signal, { all = true, sort = 'score' } = {}) =>
    request('POST', '/v1/search', { json: { collection, item_id: itemId, top_k: topK, all, sort }, signal }),
  searchImage(collection, file, topK, signal, ranking = {}) {
    // Multipart keeps the bytes binary (no base64 inflation) for large photos.
    return request('POST', '/v1/search', { form: rankingForm('image', file, file.name || 'image', collection, topK, ranking), signal });
  },
  searchAudio(collection, file, topK, signal, ranking = {}) {
    // A recording as a multipart file (the collection's model must embed audio).
    return request('POST', '/v1/search', { form: rankingForm('audio', file, file.name || 'recording', collection, topK, ranking), signal });
  },
  async classify(file, labels, templates) {
    const body = { image: await readAsDataUrl(file), labels };
    if (templates) body.templates = templates;
    return request('POST', '/v1/classify', { json: body });
  },
  /** Fetches an image with the API key (img tags cannot send headers) and returns an object URL the caller revokes. */
  async imageObjectUrl(url) {
    let res;
    try { res = await fetch(url, { headers: authHeaders() }); } catch { throw problemFrom(0, '', '', ''); }
    if (!res.ok) throw problemFrom(res.status, res.statusText, res.headers.get('content-type') ?? '', await res.text().catch(() => ''));
    return URL.createObjectURL(await res.blob());
  },
  deleteItem: (collection, id) => request('DELETE', `/v1/collections/${enc(collection)}/items/${enc(id)}`),
  thumbnailUrl: (collection, id, size = 256) => `/v1/collections/${enc(collection)}/items/${enc(id)}/thumbnail?size=${size}`,
  contentUrl: (collection, id) => `/v1/collections/${enc(collection)}/items/${enc(id)}/content`,

  /**
   * Uploads files with XMLHttpRequest so the browser reports upload progress (fetch cannot): onProgress(loaded, total)
   * while the bytes go, then onServerProgress(event) while the server indexes them (the 'progress' events of its
   * text/event-stream answer: stage, decoded_sec of duration_sec, speed, eta_sec, segments). Resolves with the 'result'.
   */
  uploadFiles(collection, files, onProgress, onServerProgress) {
    return new Promise((resolve, reject) => {
      const form = new FormData();
      for (const f of files) form.append('files', f, f.name);
      const xhr = new XMLHttpRequest();
      xhr.open('POST', `/v1/collections/${enc(collection)}/items`);
      for (const [k, v] of Object.entries(authHeaders({ Accept: 'text/event-stream, application/json;q=0.5' }))) xhr.setRequestHeader(k, v);
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress?.(e.loaded, e.total); };
      xhr.onerror = () => reject(problemFrom(0, '', '', ''));
      // The event stream arrives in pieces: each complete event ("event: …\ndata: …\n\n") is handled once.
      let seen = 0;
      let outcome = null;
      const isStream = () => (xhr.getResponseHeader('content-type') ?? '').includes('text/event-stream');
      const drain = () => {
        const text = xhr.responseText;
        let end;
        while ((end = text.indexOf('\n\n', seen)) >= 0) {
          const block = text.slice(seen, end);
          seen = end + 2;
          let type = 'message';
          const data = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) type = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          }
          let value;
          try { value = JSON.parse(data.join('\n')); } catch { continue; }
          if (type === 'progress') onServerProgress?.(value);
          else if (type === 'result' || type === 'error') outcome = { type, value };
        }
      };
      xhr.onprogress = () => { if (xhr.status >= 200 && xhr.status < 300 && isStream()) drain(); };
      xhr.onload = () => {
        const ct = xhr.getResponseHeader('content-type') ?? '';
        if (xhr.status >= 200 && xhr.status < 300 && isStream()) {
          drain();
          if (outcome?.type === 'result') resolve(outcome.value);
          else if (outcome?.type === 'error') {
            const p = outcome.value ?? {};
            reject(new ApiError(p.status ?? 500, p.title ?? 'Error', p.detail ?? '', p));
          } else reject(new ApiError(xhr.status, 'Bad response', 'The server ended the upload without an answer.'));
          return;
        }
        if (xhr.status >= 200 && xhr.status < 300) {
          try { resolve(ct.includes('json') ? JSON.parse(xhr.responseText) : { items: [], errors: [] }); }
          catch { reject(new ApiError(xhr.status, 'Bad response', 'The server sent an unreadable reply.')); }
        } else {
          reject(problemFrom(xhr.status, xhr.statusText, ct, xhr.responseText));
        }
      };
      xhr.send(form);
    });
  },
};
