// Omnivec search page: text/image search, "more like this", classify and upload. No framework, no build step.
import { api, apiKey, ApiError, readAsDataUrl } from './api.js';

const TOP_K = 24;
const DEBOUNCE_MS = 250;
const COLLECTION_STORAGE = 'omnivec.collection';

const $ = (id) => document.getElementById(id);

/** Builds an element; strings become text nodes, so server data is never parsed as HTML. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'style') el.setAttribute('style', v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

const state = {
  collection: safeGet(COLLECTION_STORAGE) || 'default',
  collections: [],
  trail: [],          // queries from the search bar and "more like this" steps; the last one is showing
  steer: [],          // "more like" / "less like" chips: { id, name, weight } added to the query as item terms
  controller: null,   // aborts a search superseded by a newer one
  seq: 0,
  current: [],        // results on screen
  classifyFile: null,
  drawerItem: null,
  uploadHide: 0,      // timer that tucks the finished progress bar away
  showAll: false,     // "Show the nearest anyway" after a no-match: no cutoff for this query until it changes
};

function safeGet(key) { try { return localStorage.getItem(key); } catch { return null; } }
function safeSet(key, v) { try { localStorage.setItem(key, v); } catch { /* ignore */ } }

// ---------- formatting ----------
const basename = (p) => (p ?? '').split(/[\\/]/).pop() || p || '';
function formatBytes(n) {
  if (n === null || n === undefined) return '';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0; let v = Number(n);
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(v < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
}
function formatDate(s) {
  if (!s) return '';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? String(s) : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
// What an upload added: a video comes back as one item per moment, so videos are counted by file.
function describeAdded(items) {
  const videos = new Set(items.filter((it) => typeof it.start_offset_sec === 'number').map((it) => it.path)).size;
  const photos = items.filter((it) => typeof it.start_offset_sec !== 'number').length;
  return [photos || !videos ? plural(photos, 'photo') : '', videos ? plural(videos, 'video') : ''].filter(Boolean).join(' and ');
}

// ---------- toasts ----------
export function toast(title, detail = '', kind = 'error') {
  const box = $('toasts');
  const el = h('div', { class: `toast ${kind}`, 'data-testid': 'toast', role: kind === 'error' ? 'alert' : 'status' },
    h('div', { class: 'body' }, h('div', { class: 'title', text: title }), detail ? h('div', { class: 'detail', text: detail }) : null),
    h('button', { type: 'button', 'aria-label': 'Dismiss', text: '×', onclick: () => el.remove() }));
  box.append(el);
  while (box.children.length > 4) box.firstElementChild.remove();
  setTimeout(() => el.remove(), kind === 'error' ? 10000 : 5000);
}

function reportError(err, what) {
  if (err?.name === 'AbortError') return;
  if (err instanceof ApiError) {
    toast(`${what}: ${err.title}`, err.detail);
    if (err.status === 401) openSettings();
  } else {
    toast(what, err?.message ?? String(err));
  }
}

// ---------- header: health and collections ----------
async function loadHealth() {
  const box = $('health');
  try {
    const hth = await api.health();
    const ok = (hth.status ?? 'ok').toLowerCase();
    box.className = `health ${ok === 'ok' || ok === 'healthy' ? 'ok' : 'bad'}`;
    $('health-text').textContent = [hth.model, hth.dimensions ? `${hth.dimensions}-d` : null].filter(Boolean).join(' · ') || hth.status;
    box.title = `Status: ${hth.status}`;
  } catch (err) {
    box.className = 'health bad';
    $('health-text').textContent = err instanceof ApiError && err.status ? `Server error (${err.status})` : 'Offline';
  }
}

async function loadCollections() {
  try {
    state.collections = await api.collections() ?? [];
  } catch (err) {
    state.collections = [];
    reportError(err, 'Could not list collections');
  }
  renderCollections();
}

function currentCollection() { return state.collections.find((c) => c.name === state.collection); }

function renderCollections() {
  const select = $('collection-select');
  const list = [...state.collections];
  if (list.length && !list.some((c) => c.name === state.collection)) {
    state.collection = (list.find((c) => c.name === 'default') ?? list[0]).name;
  }
  if (!list.some((c) => c.name === state.collection)) list.unshift({ name: state.collection, count: 0 });
  select.replaceChildren(...list.map((c) => h('option', {
    value: c.name,
    selected: c.name === state.collection,
    'data-count': c.count ?? 0,
    text: `${c.name} — ${plural(c.count ?? 0, 'item')}${c.model ? ` · ${c.model}` : ''}`,
  })));
  const cur = currentCollection();
  select.title = cur ? `${cur.name}: ${plural(cur.count, 'item')}, ${cur.provider ?? ''} ${cur.model ?? ''} (${cur.dimensions ?? '?'}-d), ${formatBytes(cur.bytes_on_disk)} on disk` : state.collection;
  $('upload-target').textContent = `to the “${state.collection}” collection`;
  if (!state.trail.length) renderIdle();
}

// ---------- search ----------
function describe(q) {
  switch (q.kind) {
    case 'text': return `“${q.text}”`;
    case 'image': return `Image: ${q.name}`;
    case 'audio': return `Sound: ${q.name}`;
    case 'item': return `Like ${q.name}`;
    case 'uploaded': return 'Just added';
    default: return '';
  }
}

function renderCrumbs() {
  const nav = $('crumbs');
  if (state.trail.length < 2) { nav.hidden = true; nav.replaceChildren(); return; }
  const parts = [h('button', { type: 'button', class: 'back', 'aria-label': 'Back', text: '← Back', onclick: goBack }), h('span', { class: 'sep', text: '·' })];
  state.trail.forEach((q, i) => {
    if (i > 0) parts.push(h('span', { class: 'sep', 'aria-hidden': 'true', text: '›' }));
    const last = i === state.trail.length - 1;
    parts.push(h('button', {
      type: 'button', text: describe(q), 'aria-current': last ? 'page' : null, disabled: last,
      onclick: () => { state.trail.length = i + 1; runCurrent(); },
    }));
  });
  nav.replaceChildren(...parts);
  nav.hidden = false;
}

function goBack() {
  if (state.trail.length < 2) return;
  state.trail.pop();
  runCurrent();
}

/** Starts a fresh trail (search bar input) or extends it ("more like this"). */
function search(query, { extend = false } = {}) {
  if (extend) state.trail.push(query); else state.trail = [query];
  state.showAll = false;
  return runCurrent();
}

function syncSearchBar(q) {
  const chip = $('query-chip');
  if (q?.kind === 'image' || q?.kind === 'item' || q?.kind === 'audio') {
    // A recording has no picture: the chip shows its name only.
    $('query-image').hidden = q.kind === 'audio';
    if (q.kind === 'image') $('query-image').src = q.url; else if (q.kind === 'item') setImage($('query-image'), q.thumb);
    $('query-image-name').textContent = q.kind === 'item' ? `Like ${q.name}` : q.kind === 'audio' ? `Sound: ${q.name}` : q.name;
    chip.hidden = false;
  } else {
    chip.hidden = true;
  }
  if (q?.kind === 'text' && $('search-input').value.trim() !== q.text) $('search-input').value = q.text;
  if (q?.kind === 'image' || q?.kind === 'item' || q?.kind === 'audio') $('search-input').value = '';
  const url = new URL(location.href);
  if (q?.kind === 'text') url.searchParams.set('q', q.text); else url.searchParams.delete('q');
  history.replaceState(null, '', url);
}

async function runCurrent() {
  const q = state.trail.at(-1);
  renderCrumbs();
  syncSearchBar(q);
  state.controller?.abort();
  if (!q) { renderIdle(); return; }
  if (q.kind === 'uploaded') { renderResults(q.items, q); return; }

  const controller = new AbortController();
  state.controller = controller;
  const seq = ++state.seq;
  setLoading(true);
  try {
    let res;
    const steering = steeringTerms();
    // Words and steered searches show only what stands out (the relevance cutoff, a name, folder or camera holding
    // every word counting as a match). An image or "more like this" shows the nearest items, as `similar` does, unless
    // the results are sorted by date or name: then it is cut too, so the order is not filled with unrelated photos.
    const sort = $('sort-select').value;
    const ranking = { all: state.showAll, mode: $('mode-select').value, sort };
    const nearest = { all: state.showAll || sort === 'score', sort };
    if (steering.length) res = await api.searchQuery(state.collection, [await baseTerm(q), ...steering], TOP_K, controller.signal, ranking);
    else if (q.kind === 'text') res = await api.searchQuery(state.collection, [{ text: q.text, weight: 1 }], TOP_K, controller.signal, ranking);
    else if (q.kind === 'image') res = await api.searchImage(state.collection, q.file, TOP_K, controller.signal, nearest);
    else if (q.kind === 'audio') res = await api.searchAudio(state.collection, q.file, TOP_K, controller.signal, nearest);
    else res = await api.searchItem(state.collection, q.id, TOP_K, controller.signal, nearest);
    if (seq !== state.seq) return;
    renderResults(res?.results ?? [], q, steering.length ? res?.query : null, res?.no_match === true);
  } catch (err) {
    if (seq !== state.seq || err?.name === 'AbortError') return;
    setLoading(false);
    if (!state.current.length) renderIdle();
    reportError(err, 'Search failed');
  }
}

// ---------- steering: "not …" and more/less like chips ----------
/** The terms the steering adds to the query: the "not" words (weight −1) and each chip's item (+1 or −1). */
function steeringTerms() {
  const not = $('not-input').value.trim();
  return [
    ...(not ? [{ text: not, weight: -1 }] : []),
    ...state.steer.map((c) => ({ item_id: c.id, weight: c.weight })),
  ];
}

/** The query being steered, as a term. */
async function baseTerm(q) {
  if (q.kind === 'text') return { text: q.text, weight: 1 };
  if (q.kind === 'item') return { item_id: q.id, weight: 1 };
  if (q.kind === 'image') return { image: await readAsDataUrl(q.file), weight: 1 };
  if (q.kind === 'audio') return { audio: await readAsDataUrl(q.file), weight: 1 };
  throw new Error('Only a search can be steered.');
}

function steerBy(r, weight) {
  const name = r.name ?? basename(r.path) ?? `#${r.id}`;
  state.steer = [...state.steer.filter((c) => c.id !== r.id), { id: r.id, name, weight }];
  renderSteer();
  runCurrent();
}

function renderSteer() {
  $('steer-chips').replaceChildren(...state.steer.map((c) => h('span', {
    class: `steer-chip ${c.weight > 0 ? 'more' : 'less'}`, 'data-testid': 'steer-chip', 'data-id': c.id, 'data-weight': c.weight,
  },
  h('span', { text: `${c.weight > 0 ? 'More' : 'Less'} like ${c.name}` }),
  h('button', {
    type: 'button', 'aria-label': `Remove ${c.weight > 0 ? 'more' : 'less'} like ${c.name}`, text: '×',
    onclick: () => { state.steer = state.steer.filter((x) => x !== c); renderSteer(); runCurrent(); },
  }))));
}

function setLoading(on) {
  const grid = $('results');
  grid.setAttribute('aria-busy', String(on));
  if (!on) return;
  $('results-status').textContent = 'Searching…';
  // Skeletons only when nothing is on screen; otherwise keep the old results (dimmed) to avoid flicker while typing.
  if (!state.current.length) {
    $('empty').hidden = true;
    grid.classList.add('loading');
    grid.replaceChildren(...Array.from({ length: 12 }, () =>
      h('div', { class: 'card skeleton', 'aria-hidden': 'true' }, h('div', { class: 'thumb' }), h('div', { class: 'bar' }))));
  } else {
    grid.classList.add('stale');
  }
}

function renderIdle() {
  state.current = [];
  const grid = $('results');
  grid.replaceChildren();
  grid.classList.remove('stale', 'loading');
  grid.setAttribute('aria-busy', 'false');
  $('results-status').textContent = '';
  $('show-nearest').hidden = true;
  const cur = currentCollection();
  const empty = !cur || !cur.count;
  $('empty-title').textContent = empty ? `“${state.collection}” has no photos yet` : 'Search your photos';
  $('empty-text').textContent = empty
    ? 'Add some with the “Add photos and videos” panel: drop images there or choose files.'
    : `Type what you are looking for (“a dog on a road”), or drop, paste (Ctrl+V) or pick an image to find similar ones among ${plural(cur.count, 'photo')}.`;
  $('empty').hidden = false;
}

const SORT_NAMES = { date: 'oldest first', '-date': 'newest first', path: 'by name' };

function renderResults(results, q, steered = null, noMatch = false) {
  const grid = $('results');
  state.current = results;
  grid.classList.remove('stale', 'loading');
  grid.setAttribute('aria-busy', 'false');
  grid.replaceChildren(...results.map((r, i) => card(r, i, q)));
  const status = $('results-status');
  const sort = SORT_NAMES[$('sort-select').value];
  const order = sort && q.kind !== 'uploaded' ? `, ${sort}` : '';
  if (q.kind === 'uploaded') status.textContent = `Added ${describeAdded(results)} to “${state.collection}”`;
  else if (state.showAll && q.kind === 'text' && !steered) status.textContent = `${plural(results.length, 'nearest result')} for “${q.text}” (none stands out)${order}`;
  else if (steered) status.textContent = `${plural(results.length, 'result')} for ${steered}${order}`;
  else if (q.kind === 'text') status.textContent = `${plural(results.length, 'result')} for “${q.text}”${order}`;
  else if (q.kind === 'audio') status.textContent = `${plural(results.length, 'similar sound')} to ${q.name}${order}`;
  else status.textContent = `${plural(results.length, 'similar photo')}${q.kind === 'item' ? ` to ${q.name}` : ''}${order}`;
  $('show-nearest').hidden = !(noMatch && !results.length);
  if (!results.length && noMatch) {
    // The relevance cutoff left nothing: say so instead of showing the nearest noise, and offer it on request.
    status.textContent = steered ? `No match for ${steered}` : q.kind === 'text' ? `No match for “${q.text}”` : `No match${q.kind === 'item' ? ` for photos like ${q.name}` : ''}`;
    $('empty-title').textContent = 'No match';
    $('empty-text').textContent = noMatchText(q, steered);
  } else if (!results.length) {
    $('empty-title').textContent = 'No matches';
    $('empty-text').textContent = currentCollection()?.count
      ? 'Nothing in this collection matched. Try other words or another image.'
      : `“${state.collection}” has no photos yet. Add some with the “Add photos and videos” panel.`;
  }
  $('empty').hidden = results.length > 0;
}

/** Why nothing is shown, in the terms of the search that was made. */
function noMatchText(q, steered) {
  const words = q.kind === 'text' || steered;
  const mode = $('mode-select').value;
  if (mode === 'text') {
    return `No file name, folder, camera or caption in “${state.collection}” contains ${q.kind === 'text' ? `every word of “${q.text}”` : 'these words'}.`;
  }
  const names = words && mode === 'hybrid' ? ', and no file name, folder, camera or caption contains all its words' : '';
  return `Nothing in “${state.collection}” stands out from the rest for this search${names}. Try other words, or show the nearest items anyway.`;
}

// m:ss (h:mm:ss from an hour on), for the moments of videos.
function formatTime(sec) {
  const t = Math.max(0, Math.floor(sec));
  const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = String(t % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}
const isMoment = (r) => typeof r.start_offset_sec === 'number' && typeof r.end_offset_sec === 'number';
// A window of a recording (audio collections): no picture, played by an <audio> player.
const isAudio = (r) => (r.media_type ?? '').startsWith('audio/');
const momentLabel = (r) => `${formatTime(r.start_offset_sec)}–${formatTime(r.end_offset_sec)}`;

function card(r, index, q) {
  const name = r.name ?? basename(r.path) ?? `#${r.id}`;
  const moment = isMoment(r);
  const audio = isAudio(r);
  const thumb = r.thumbnail_url || api.thumbnailUrl(state.collection, r.id);
  const hasScore = typeof r.score === 'number' && q.kind !== 'uploaded';
  const dims = r.width && r.height ? `${r.width}×${r.height}` : '';
  const img = h('img', {
    class: 'thumb', alt: '', loading: index < 8 ? 'eager' : 'lazy', decoding: 'async', width: 256, height: 256,
    onerror: (e) => { if (e.target.getAttribute('src')) { e.target.classList.add('broken'); e.target.removeAttribute('src'); } },
  });
  if (audio) img.classList.add('sound'); else setImage(img, thumb);
  // A video result is a moment: a click plays it from its start (the drawer has "More like this" from it).
  const el = h('article', {
    class: audio ? 'card audio' : moment ? 'card video' : 'card', 'data-testid': 'result-card', 'data-id': r.id, 'data-path': r.path ?? '', 'data-score': hasScore ? r.score : null,
  },
  h('button', {
    type: 'button', class: 'open',
    title: [r.path ?? name, moment ? momentLabel(r) : dims, moment ? 'Click to play this moment' : 'Click for more like this'].filter(Boolean).join('\n'),
    'aria-label': `${name}${moment ? ` at ${momentLabel(r)}` : ''}${hasScore ? `, score ${r.score.toFixed(2)}` : ''}. ${moment ? 'Play this moment' : 'Show more like this'}`,
    onclick: () => (moment ? openDrawer(r) : search({ kind: 'item', id: r.id, name, thumb }, { extend: true })),
  },
  img,
  h('div', { class: 'meta' }, h('span', { class: 'name', text: name }))),
  hasScore ? h('span', { class: 'score', 'data-testid': 'score', text: r.score.toFixed(2) }) : null,
  moment ? h('span', { class: 'time', 'data-testid': 'time-badge', text: `▶ ${momentLabel(r)}` }) : null,
  q.kind !== 'uploaded' ? h('div', { class: 'steer-buttons' },
    h('button', { type: 'button', 'data-testid': 'more-like', title: 'Steer the search towards this', 'aria-label': `More like ${name}`, text: '+ more', onclick: () => steerBy(r, 1) }),
    h('button', { type: 'button', 'data-testid': 'less-like', title: 'Steer the search away from this', 'aria-label': `Less like ${name}`, text: '− less', onclick: () => steerBy(r, -1) })) : null,
  h('button', { type: 'button', class: 'info', 'aria-label': `Details for ${name}`, title: 'Details', text: 'i', onclick: () => openDrawer(r) }));
  return el;
}

// ---------- images behind an API key ----------
// Without a key, thumbnails are plain lazy <img> tags. With one, /v1 needs the Authorization header, which <img> cannot
// send, so visible images are fetched with it (IntersectionObserver keeps that lazy) and shown from object URLs.
const authImages = 'IntersectionObserver' in window ? new IntersectionObserver((entries) => {
  for (const e of entries) if (e.isIntersecting) { authImages.unobserve(e.target); loadAuthImage(e.target); }
}, { rootMargin: '300px' }) : null;

async function loadAuthImage(img) {
  const url = img.dataset.src;
  try {
    const objectUrl = await api.imageObjectUrl(url);
    if (img.dataset.src !== url) { URL.revokeObjectURL(objectUrl); return; }
    img.addEventListener('load', () => URL.revokeObjectURL(objectUrl), { once: true });
    img.src = objectUrl;
  } catch {
    img.classList.add('broken');
  }
}

function setImage(img, url) {
  if (!apiKey.get()) { img.removeAttribute('data-src'); img.src = url; return; }
  img.dataset.src = url;
  img.removeAttribute('src');
  if (authImages) authImages.observe(img); else loadAuthImage(img);
}

// ---------- details drawer ----------
function openDrawer(r) {
  state.drawerItem = r;
  const name = r.name ?? (basename(r.path) || `#${r.id}`);
  $('drawer-title').textContent = name;
  $('drawer-image').alt = name;
  const moment = isMoment(r);
  const audio = isAudio(r);
  if (!audio) setImage($('drawer-image'), (r.thumbnail_url || api.thumbnailUrl(state.collection, r.id)).replace(/size=\d+/, 'size=512'));
  $('drawer-image').hidden = moment || audio;
  $('drawer-video').hidden = !moment || audio;
  $('drawer-audio').hidden = !audio;
  if (moment || audio) {
    // The original file, served with HTTP Range: the browser fetches only what it plays, from the moment's start.
    // Behind an API key the server signs content_url, since <video>/<audio> cannot send the Authorization header.
    const player = audio ? $('drawer-audio') : $('drawer-video');
    const start = moment ? r.start_offset_sec : 0;
    player.onloadedmetadata = () => { player.currentTime = start; player.play().catch(() => {}); };
    player.muted = !audio; // a video moment starts muted (autoplay); a recording is its sound
    player.src = `${r.content_url || api.contentUrl(state.collection, r.id)}#t=${start}`;
  }
  const rows = [
    ['Path', r.path], ['Moment', moment ? momentLabel(r) : ''], ['Type', r.media_type], ['Dimensions', r.width && r.height ? `${r.width} × ${r.height}` : ''],
    ['Size', formatBytes(r.size_bytes)], ['Taken', formatDate(r.taken_at)],
    ['Score', typeof r.score === 'number' ? r.score.toFixed(4) : ''], ['ID', String(r.id)],
  ].filter(([, v]) => v);
  $('drawer-fields').replaceChildren(...rows.flatMap(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })]));
  $('drawer-open').href = r.content_url || api.contentUrl(state.collection, r.id);
  $('drawer').hidden = false;
  $('drawer-close').focus();
}
function closeDrawer() {
  if ($('drawer').hidden) return;
  $('drawer').hidden = true;
  for (const player of [$('drawer-video'), $('drawer-audio')]) {
    player.pause();
    player.onloadedmetadata = null;
    player.removeAttribute('src');
    player.load();
  }
  const id = state.drawerItem?.id;
  state.drawerItem = null;
  document.querySelector(`.card[data-id="${CSS.escape(String(id))}"] .info`)?.focus();
}

// ---------- image queries (drop, paste, pick) ----------
function imageFrom(list) {
  return [...(list ?? [])].find((f) => f.type.startsWith('image/') || /\.(jpe?g|png|gif|webp|bmp|tiff?|avif|heic)$/i.test(f.name));
}

function audioFrom(list) {
  return [...(list ?? [])].find((f) => f.type.startsWith('audio/') || /\.(wav|mp3|flac|ogg|oga|opus|m4a|aac|aiff?|wma)$/i.test(f.name));
}

/** A dropped or picked file: an image searches by image, a recording by sound (audio collections). */
function searchByFile(files) {
  const image = imageFrom(files);
  if (image) { searchByImage(image); return; }
  const audio = audioFrom(files);
  if (!audio) { toast('Not an image or a recording', 'Drop or pick an image (JPEG, PNG, WebP, …) or a recording (WAV, MP3, FLAC, …).'); return; }
  const prev = state.trail[0];
  if (prev?.kind === 'image') URL.revokeObjectURL(prev.url);
  search({ kind: 'audio', file: audio, name: audio.name || 'Recording' });
}

function searchByImage(file) {
  if (!file) { toast('Not an image', 'Drop or paste an image file (JPEG, PNG, WebP, …).'); return; }
  const prev = state.trail[0];
  if (prev?.kind === 'image') URL.revokeObjectURL(prev.url);
  search({ kind: 'image', file, url: URL.createObjectURL(file), name: file.name || 'Pasted image' });
}

function clearQuery() {
  const prev = state.trail[0];
  if (prev?.kind === 'image') URL.revokeObjectURL(prev.url);
  state.trail = [];
  $('search-input').value = '';
  runCurrent();
  $('search-input').focus();
}

function wireDragAndDrop() {
  let depth = 0;
  const overlay = $('drag-overlay');
  const hasFiles = (e) => [...(e.dataTransfer?.types ?? [])].includes('Files');
  document.addEventListener('dragenter', (e) => { if (hasFiles(e)) { depth++; overlay.hidden = false; } });
  document.addEventListener('dragleave', () => { if (--depth <= 0) { depth = 0; overlay.hidden = true; } });
  document.addEventListener('dragover', (e) => { if (hasFiles(e)) e.preventDefault(); });
  document.addEventListener('drop', (e) => {
    depth = 0; overlay.hidden = true;
    if (!e.dataTransfer?.files?.length) return;
    e.preventDefault();
    searchByFile(e.dataTransfer.files);
  });

  // The upload and classify boxes take their own drops; stopping propagation keeps the page-level search out of it.
  for (const [id, onFiles] of [['upload-drop', (files) => upload([...files])], ['classify-drop', (files) => setClassifyFile(imageFrom(files))]]) {
    const box = $(id);
    box.addEventListener('dragover', (e) => { e.preventDefault(); box.classList.add('over'); overlay.hidden = true; });
    box.addEventListener('dragleave', () => box.classList.remove('over'));
    box.addEventListener('drop', (e) => {
      e.preventDefault(); e.stopPropagation();
      depth = 0; overlay.hidden = true; box.classList.remove('over');
      if (e.dataTransfer?.files?.length) onFiles(e.dataTransfer.files);
    });
  }

  document.addEventListener('paste', (e) => {
    const file = imageFrom(e.clipboardData?.files);
    if (!file) return; // plain text paste goes to whatever has focus
    e.preventDefault();
    if ($('classify-panel').contains(document.activeElement)) setClassifyFile(file); else searchByImage(file);
  });
}

// ---------- upload ----------
// Batches run one after another, so a second drop during an upload waits instead of fighting over the progress bar.
let uploadQueue = Promise.resolve();
function upload(files) {
  if (!files.length) return uploadQueue;
  uploadQueue = uploadQueue.then(() => uploadNow(files)).catch((err) => reportError(err, 'Upload failed'));
  return uploadQueue;
}

async function uploadNow(files) {
  const box = $('upload-progress-box');
  const bar = $('upload-progress');
  const text = $('upload-progress-text');
  const errors = [];
  const added = [];
  const total = files.reduce((s, f) => s + f.size, 0) || 1;
  let doneBytes = 0;
  clearTimeout(state.uploadHide);
  $('upload-errors').hidden = true;
  box.hidden = false;
  bar.value = 0;
  // One request per file: per-file progress (n/N) and one bad file cannot sink the others.
  for (let i = 0; i < files.length; i++) {
    const f = files[i];
    text.textContent = `Uploading ${i + 1}/${files.length}: ${f.name}`;
    const rate = uploadRate();
    let indexing = null;
    let serverSaid = false;
    try {
      const res = await api.uploadFiles(state.collection, [f], (loaded, size) => {
        if (serverSaid) return;
        bar.value = Math.min(1, (doneBytes + loaded) / total);
        if (size && loaded >= size) {
          // All bytes sent: the server now embeds the file (a video is cut into moments first); until its first
          // progress event, say so with the seconds elapsed.
          if (!indexing) indexing = indexingNotice(text, f, i, files.length);
          return;
        }
        text.textContent = `Uploading ${i + 1}/${files.length}: ${f.name} — ${uploadStats(loaded, size, rate(loaded))}`;
      }, (p) => {
        // The server's own progress: how much of the video it has read, how fast, how long is left.
        serverSaid = true;
        if (indexing) { clearInterval(indexing); indexing = null; }
        text.textContent = serverProgressText(f, i, files.length, p);
        if (p.fraction != null) bar.value = p.fraction;
      });
      added.push(...(res?.items ?? []));
      errors.push(...(res?.errors ?? []).map((x) => ({ name: x.name ?? f.name, error: x.error ?? 'rejected' })));
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) { reportError(err, 'Upload failed'); break; }
      const perFile = Array.isArray(err?.problem?.errors) ? err.problem.errors : [];
      if (perFile.length) errors.push(...perFile.map((x) => ({ name: x.name ?? f.name, error: x.error ?? err.detail })));
      else errors.push({ name: f.name, error: err instanceof ApiError ? (err.detail || err.title) : String(err?.message ?? err) });
    } finally {
      if (indexing) clearInterval(indexing);
    }
    doneBytes += f.size;
    bar.value = Math.min(1, doneBytes / total);
  }
  bar.value = 1;
  text.textContent = `${describeAdded(added)} added${errors.length ? `, ${errors.length} failed` : ''} (${files.length}/${files.length})`;
  const list = $('upload-errors');
  list.replaceChildren(...errors.map((e) => h('li', {}, h('b', { text: e.name }), `: ${e.error}`)));
  list.hidden = !errors.length;
  if (errors.length) {
    toast(errors.length === 1 ? `Could not add ${errors[0].name}` : `${errors.length} files could not be added`, errors[0].error);
  }
  if (added.length) {
    toast(`Added ${describeAdded(added)}`, `to “${state.collection}”`, 'ok');
    await loadCollections();
    const q = state.trail.at(-1);
    if (q && q.kind !== 'uploaded') runCurrent();
    else search({ kind: 'uploaded', items: added.map((it) => ({ ...it, thumbnail_url: api.thumbnailUrl(state.collection, it.id) })) });
  }
  if (!errors.length) state.uploadHide = setTimeout(() => { box.hidden = true; }, 4000);
}

// Upload speed over the last few seconds (not since the start, so a stall or a faster link shows soon).
function uploadRate(windowMs = 3000) {
  const samples = [[performance.now(), 0]];
  return (loaded) => {
    const now = performance.now();
    samples.push([now, loaded]);
    while (samples.length > 2 && now - samples[1][0] > windowMs) samples.shift();
    const [t0, b0] = samples[0];
    return now > t0 ? ((loaded - b0) * 1000) / (now - t0) : 0;
  };
}

// "42% · 3.1 of 7.4 MB · 2.5 MB/s · 2 s left"
function uploadStats(loaded, size, bytesPerSec) {
  const mb = (b) => (b / 1e6).toFixed(b < 1e7 ? 1 : 0);
  const pct = size ? Math.floor((loaded / size) * 100) : 0;
  const parts = [`${pct}%`, `${mb(loaded)} of ${mb(size)} MB`];
  if (bytesPerSec > 0) {
    parts.push(`${(bytesPerSec / 1e6).toFixed(1)} MB/s`);
    const left = Math.ceil((size - loaded) / bytesPerSec);
    parts.push(left >= 60 ? `${Math.floor(left / 60)} min ${left % 60} s left` : `${left} s left`);
  }
  return parts.join(' · ');
}

// While the server indexes an uploaded file (it answers only when done), say what it does and for how long.
function indexingNotice(text, f, i, n) {
  const started = performance.now();
  const what = f.type.startsWith('video/') ? `Finding the moments in ${f.name}` : `Indexing ${f.name}`;
  const show = () => { text.textContent = `${what} (${i + 1}/${n})… ${Math.floor((performance.now() - started) / 1000)} s`; };
  show();
  return setInterval(show, 1000);
}

// "Finding the moments in walk.mp4 (1/1) — 45% · 0:11 of 0:24 · 7.9× real time · 3 s left · 4 moments"
function serverProgressText(f, i, n, p) {
  const isVideo = f.type.startsWith('video/') || (p.stage === 'segmenting' && !f.type.startsWith('audio/'));
  const what = isVideo ? `Finding the moments in ${f.name}` : `Indexing ${f.name}`;
  const units = (k) => `${k} ${isVideo ? 'moment' : 'window'}${k === 1 ? '' : 's'}`;
  const clock = (sec) => { const t = Math.floor(sec); return `${Math.floor(t / 60)}:${String(t % 60).padStart(2, '0')}`; };
  const head = `${what} (${i + 1}/${n})`;
  switch (p.stage) {
    case 'checking': case 'storing': case 'probing':
      return `${head} — getting ready…`;
    case 'segmenting': {
      if (p.decoded_sec == null) return `${head} — reading…`;
      const parts = [];
      if (p.fraction != null) parts.push(`${Math.floor(p.fraction * 100)}%`, `${clock(p.decoded_sec)} of ${clock(p.duration_sec)}`);
      else parts.push(`${clock(p.decoded_sec)} read`);
      if (p.speed != null) parts.push(`${p.speed.toFixed(1)}× real time`);
      if (p.eta_sec != null) {
        const left = Math.ceil(p.eta_sec);
        parts.push(left >= 60 ? `${Math.floor(left / 60)} min ${left % 60} s left` : `${left} s left`);
      }
      parts.push(units(p.segments ?? 0));
      return `${head} — ${parts.join(' · ')}`;
    }
    case 'saving':
      return `Saving ${f.name} (${i + 1}/${n})${p.segments != null ? ` — ${units(p.segments)}` : ''}…`;
    default:
      return `${head}…`;
  }
}

// ---------- classify ----------
function setClassifyFile(file) {
  if (!file) { toast('Not an image', 'Choose an image file to classify.'); return; }
  state.classifyFile = file;
  const img = $('classify-preview');
  if (img.src.startsWith('blob:')) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(file);
  img.hidden = false;
  $('classify-hint').textContent = file.name;
  $('classify-results').replaceChildren();
}

async function classify(e) {
  e.preventDefault();
  const labels = [...new Set($('classify-labels').value.split(',').map((s) => s.trim()).filter(Boolean))];
  if (!state.classifyFile) { toast('Choose an image first', 'Drop an image on the Classify panel or choose a file.'); return; }
  if (labels.length < 2) { toast('Add more labels', 'Type at least two labels, separated by commas.'); $('classify-labels').focus(); return; }
  const run = $('classify-run');
  const out = $('classify-results');
  run.disabled = true; run.textContent = 'Classifying…';
  out.setAttribute('aria-busy', 'true');
  try {
    const res = await api.classify(state.classifyFile, labels, $('classify-templates').checked ? 'imagenet' : undefined);
    const rows = [...(res?.labels ?? [])].sort((a, b) => b.probability - a.probability);
    out.replaceChildren(...rows.map((r) => {
      const pct = Math.max(0, Math.min(100, r.probability * 100));
      return h('li', { 'data-testid': 'classify-bar', 'data-label': r.label, 'data-probability': r.probability },
        h('span', { class: 'label', text: r.label, title: `cosine similarity ${Number(r.similarity).toFixed(4)}` }),
        h('span', { class: 'pct', text: `${pct.toFixed(1)}%` }),
        h('div', { class: 'track', role: 'progressbar', 'aria-label': r.label, 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': pct.toFixed(1) },
          h('div', { class: 'fill', style: `width:${pct.toFixed(2)}%` })));
    }));
  } catch (err) {
    reportError(err, 'Classification failed');
  } finally {
    run.disabled = false; run.textContent = 'Classify';
    out.setAttribute('aria-busy', 'false');
  }
}

// ---------- settings ----------
function openSettings() {
  const dlg = $('settings');
  if (dlg.open) return;
  $('api-key').value = apiKey.get();
  dlg.showModal();
  $('api-key').focus();
}

// ---------- wiring ----------
function debounce(fn, ms) {
  let t;
  const wrapped = (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
  wrapped.cancel = () => clearTimeout(t);
  return wrapped;
}

function init() {
  const input = $('search-input');
  const textSearch = () => {
    const text = input.value.trim();
    const cur = state.trail.at(-1);
    if (!text) { if (!cur || cur.kind === 'text') clearQuery(); return; }
    if (state.trail.length === 1 && cur?.kind === 'text' && cur.text === text) return;
    search({ kind: 'text', text });
  };
  const debounced = debounce(textSearch, DEBOUNCE_MS);
  input.addEventListener('input', debounced);
  $('search-form').addEventListener('submit', (e) => { e.preventDefault(); debounced.cancel(); state.trail = state.trail.filter((q) => q.kind !== 'text'); textSearch(); });
  input.addEventListener('keydown', (e) => { if (e.key === 'Escape' && input.value) { e.preventDefault(); clearQuery(); } });
  $('search-file').addEventListener('change', (e) => { searchByFile(e.target.files); e.target.value = ''; });
  $('query-clear').addEventListener('click', clearQuery);
  // The "not …" words re-run the current search (debounced like the search bar); chips belong to a collection.
  const notSearch = debounce(() => { if (state.trail.at(-1) && state.trail.at(-1).kind !== 'uploaded') runCurrent(); }, DEBOUNCE_MS);
  $('not-input').addEventListener('input', notSearch);
  $('show-nearest').addEventListener('click', () => { state.showAll = true; runCurrent(); });
  // Another mode or order is another search: the cutoff applies again.
  for (const id of ['mode-select', 'sort-select']) $(id).addEventListener('change', () => { state.showAll = false; if (state.trail.length) runCurrent(); });
  $('not-input').addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); notSearch.cancel(); if (state.trail.length) runCurrent(); } });

  $('collection-select').addEventListener('change', (e) => {
    state.collection = e.target.value;
    state.steer = [];
    renderSteer();
    safeSet(COLLECTION_STORAGE, state.collection);
    renderCollections();
    // Item ids belong to one collection, so only text and image queries carry over.
    state.trail = state.trail.slice(0, 1).filter((q) => q.kind === 'text' || q.kind === 'image');
    runCurrent();
  });

  $('upload-input').addEventListener('change', (e) => { const files = [...e.target.files]; e.target.value = ''; upload(files); });
  $('classify-input').addEventListener('change', (e) => { setClassifyFile(imageFrom(e.target.files)); e.target.value = ''; });
  $('classify-form').addEventListener('submit', classify);
  $('classify-example').addEventListener('click', () => { $('classify-labels').value = 'a cat, a dog, a beach, food, a flower, a city street'; $('classify-labels').focus(); });

  $('drawer-close').addEventListener('click', closeDrawer);
  $('drawer-open').addEventListener('click', async (e) => {
    if (!apiKey.get()) return; // a plain link works when no key is needed
    e.preventDefault();
    const tab = window.open('', '_blank');
    try {
      const url = await api.imageObjectUrl(e.currentTarget.href);
      if (tab) tab.location.href = url; else location.assign(url);
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch (err) { tab?.close(); reportError(err, 'Could not open the original'); }
  });
  $('drawer-similar').addEventListener('click', () => {
    const r = state.drawerItem; closeDrawer();
    if (r) search({ kind: 'item', id: r.id, name: r.name ?? basename(r.path), thumb: r.thumbnail_url }, { extend: true });
  });
  $('drawer-delete').addEventListener('click', async () => {
    const r = state.drawerItem;
    if (!r || !confirm(`Remove ${r.name ?? basename(r.path)} from “${state.collection}”? The file on disk is not touched.`)) return;
    try {
      await api.deleteItem(state.collection, r.id);
      closeDrawer();
      document.querySelector(`.card[data-id="${CSS.escape(String(r.id))}"]`)?.remove();
      state.current = state.current.filter((x) => x.id !== r.id);
      toast('Removed', r.name ?? basename(r.path), 'ok');
      loadCollections();
    } catch (err) { reportError(err, 'Could not remove'); }
  });

  $('settings-btn').addEventListener('click', openSettings);
  $('settings').addEventListener('close', () => {
    if ($('settings').returnValue !== 'save') return;
    apiKey.set($('api-key').value.trim());
    $('toasts').replaceChildren(); // the 401 toasts that led here are stale now
    toast('Settings saved', apiKey.get() ? 'The API key will be sent with each request.' : 'API key cleared.', 'ok');
    loadHealth(); loadCollections().then(() => runCurrent());
  });

  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') closeDrawer();
    if (e.key === '/' && !/^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement?.tagName ?? '')) { e.preventDefault(); input.focus(); }
    if (e.key === 'Backspace' && e.altKey) goBack();
  });
  wireDragAndDrop();

  loadHealth();
  const initial = new URL(location.href).searchParams.get('q');
  loadCollections().then(() => { if (initial) { input.value = initial; search({ kind: 'text', text: initial }); } });
  document.documentElement.dataset.ready = 'true';
}

init();
