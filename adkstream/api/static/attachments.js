// What comes with a message besides its text: images and files the model made, the
// artifacts a run saved, and the sources an answer drew on. Nothing here becomes markup:
// names, titles and URLs go in through textContent and attributes, and only http(s)
// sources are links. The page's CSP (default-src 'self') loads no data: or blob: image,
// so an image is decoded from its bytes (createImageBitmap) and drawn on a <canvas>.

import { request } from "./api.js";

/** The image types drawn inline; any other file is a download. */
export const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Object URLs made for downloads, revoked together when the transcript is cleared.
 * `keep(url)` records one and returns it.
 */
export class ObjectUrls {
  constructor() {
    this._urls = [];
  }

  keep(url) {
    this._urls.push(url);
    return url;
  }

  revokeAll() {
    for (const url of this._urls) URL.revokeObjectURL(url);
    this._urls = [];
  }
}

/**
 * A canvas showing the image `load()` resolves to (a Blob); `follow(change)` applies a
 * change that makes the page taller (the transcript keeps its scroll pinned).
 * data-state is "loading", then "ready" or "failed".
 */
export function imageNode(load, label, follow) {
  const canvas = el("canvas", "image");
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", label);
  canvas.dataset.state = "loading";
  canvas.hidden = true;
  load()
    .then((blob) => createImageBitmap(blob))
    .then((bitmap) => {
      canvas.width = bitmap.width;
      canvas.height = bitmap.height;
      canvas.getContext("2d").drawImage(bitmap, 0, 0);
      bitmap.close();
      canvas.dataset.state = "ready";
      follow(() => (canvas.hidden = false));
    })
    .catch(() => {
      canvas.dataset.state = "failed";
      const failed = el("div", "file-failed", `${label}: could not be shown`);
      follow(() => canvas.replaceWith(failed));
    });
  return canvas;
}

/** A file the model made (`message.file`): an image drawn inline, else a download. */
export function fileNode(file, { follow, urls }) {
  const name = file.name || fileName(file);
  const node = el("div", "file");
  node.dataset.fileId = file.id;
  if (!file.data) {
    // Too large to keep across a reload (Transcript.snapshot): the session still has it.
    node.append(el("span", "file-meta", `${name} · not kept after the reload`));
    return node;
  }
  const image = IMAGE_TYPES.has(file.mime_type);
  if (image) node.append(imageNode(() => Promise.resolve(decode(file.data, file.mime_type)), name, follow));
  const link = el("a", "file-link", image ? "Download" : name);
  try {
    // Saved, never opened: whatever the model called its type, the download is bytes.
    link.href = urls.keep(URL.createObjectURL(decode(file.data, "application/octet-stream")));
    link.download = name;
  } catch {
    link.removeAttribute("href"); // not base64: nothing to give
  }
  if (!image) node.append(el("span", "file-icon", "▤"));
  node.append(link);
  node.append(el("span", "file-meta", `${file.mime_type} · ${fileSize(approxBytes(file.data))}`));
  return node;
}

/** A saved artifact (`artifact.saved`): its name (a download), version, type and size. */
export function artifactNode(entry, { follow, urls }) {
  const node = el("div", "artifact");
  const head = el("div", "artifact-head");
  const path = sameOriginPath(entry.url);
  const link = el("a", "artifact-name", entry.name);
  if (path) {
    link.href = path;
    // The API wants the page's credentials (api.js), which a plain link cannot send.
    link.addEventListener("click", (e) => download(e, link, path, entry.name, urls));
  }
  const meta = [`version ${entry.version}`, entry.mime_type, entry.size == null ? "" : fileSize(entry.size)];
  head.append(
    el("span", "artifact-icon", "▣"),
    el("span", "artifact-saved", `${entry.author} saved`),
    link,
    el("span", "artifact-meta", meta.filter(Boolean).join(" · ")),
  );
  node.append(head);
  if (path && IMAGE_TYPES.has(entry.mime_type)) {
    node.append(imageNode(() => fetchBlob(path), entry.name, follow));
  }
  return node;
}

/** The sources under a message: http(s) ones as links, others by title. */
export function sourcesNode(entry) {
  const node = el("div", "sources");
  const sources = (entry.sources || []).filter((s) => s.title || webUrl(s.url));
  if (!sources.length) return node; // empty: hidden by the stylesheet
  node.append(el("span", "sources-label", "Sources"));
  const list = el("ol", "source-list");
  sources.forEach((source, i) => {
    const item = el("li", "source");
    const href = webUrl(source.url);
    const label = el(href ? "a" : "span", "source-link");
    if (href) {
      label.href = href;
      label.target = "_blank";
      label.rel = "noopener noreferrer nofollow";
      label.title = href;
    }
    const title = el("span", "source-title", source.title || new URL(href).hostname);
    label.append(el("span", "source-index", String(i + 1)), title);
    item.append(label);
    list.append(item);
  });
  node.append(list);
  const queries = entry.queries || [];
  if (queries.length) {
    node.append(el("div", "source-queries", `Searched for ${queries.map((q) => `“${q}”`).join(", ")}`));
  }
  return node;
}

/** A size for people: 12 bytes, 4.1 KB, 2.3 MB. */
export function fileSize(bytes) {
  if (bytes < 1024) return `${bytes} ${bytes === 1 ? "byte" : "bytes"}`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function fileName(file) {
  const kind = file.mime_type.startsWith("image/") ? "image" : "file";
  const ext = file.mime_type.split("/")[1]?.split("+")[0].replace(/[^a-z0-9]/gi, "").slice(0, 8);
  return ext ? `${kind}.${ext}` : kind;
}

function decode(base64, type) {
  const raw = atob(base64);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i += 1) bytes[i] = raw.charCodeAt(i);
  return new Blob([bytes], { type });
}

function approxBytes(base64) {
  return Math.floor((base64.length * 3) / 4) - (base64.endsWith("==") ? 2 : base64.endsWith("=") ? 1 : 0);
}

async function fetchBlob(path) {
  return (await request(path, { headers: { Accept: "*/*" } })).blob();
}

// The first click fetches the artifact and points the link at its bytes; later clicks
// are plain downloads of those.
async function download(event, link, path, name, urls) {
  if (link.dataset.fetched) return;
  event.preventDefault();
  if (link.dataset.fetching) return;
  link.dataset.fetching = "1";
  try {
    link.href = urls.keep(URL.createObjectURL(await fetchBlob(path)));
    link.download = name;
    link.dataset.fetched = "1";
    link.click();
  } catch (error) {
    link.title = error.message || String(error);
    link.classList.add("failed");
  } finally {
    delete link.dataset.fetching;
  }
}

/** `raw` as a path on this server, or null: the API key must never go to another host. */
function sameOriginPath(raw) {
  try {
    const url = new URL(raw, document.baseURI);
    return url.origin === window.location.origin ? url.pathname + url.search : null;
  } catch {
    return null;
  }
}

function webUrl(raw) {
  if (!raw) return null;
  try {
    const url = new URL(raw);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}
