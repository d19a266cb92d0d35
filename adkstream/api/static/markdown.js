// Markdown to DOM nodes, safely: every piece of model text enters the page through
// textContent or Text nodes, never as markup, so `<script>` in an answer is shown as
// text. Covers what chat answers use: paragraphs, headings, **bold**, *italic*,
// ~~strike~~, `code`, fenced code blocks, lists (nested by indentation), block quotes,
// rules and links (http, https and mailto only). An unclosed fence or emphasis, as in
// a message still streaming, renders as far as it goes.

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$/;
const RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
const ESCAPABLE = /[\\`*_{}[\]()#+\-.!~<>|"']/;
const AUTOLINK = /^https?:\/\/[^\s<>]*[^\s<>.,:;"')\]]/;
const LINK = /^\[([^\]]*)\]\(\s*([^\s)]+)(?:\s+"[^"]*")?\s*\)/;

/** The DOM of `text` as a DocumentFragment. */
export function renderMarkdown(text) {
  const fragment = document.createDocumentFragment();
  renderBlocks(text.split(/\r\n|\r|\n/), fragment);
  return fragment;
}

function el(tag, parent) {
  const node = document.createElement(tag);
  if (parent) parent.append(node);
  return node;
}

function renderBlocks(lines, parent) {
  let paragraph = null; // the open <p>, continued by the next plain line
  let lists = null; // the open list, continued by the next item
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = FENCE.exec(line);
    let match;
    if (fence) {
      paragraph = lists = null;
      i = codeBlock(lines, i, fence, parent);
      continue;
    }
    if (line.trim() === "") {
      paragraph = null;
      if (lists && !nextIsItem(lines, i)) lists = null;
    } else if ((match = HEADING.exec(line))) {
      paragraph = lists = null;
      const level = Math.min(match[1].length + 2, 6); // # is an h3 inside a chat bubble
      inline(match[2], el(`h${level}`, parent));
    } else if (RULE.test(line)) {
      paragraph = lists = null;
      el("hr", parent);
    } else if ((match = QUOTE.exec(line))) {
      paragraph = lists = null;
      const quoted = [];
      while (i < lines.length && (match = QUOTE.exec(lines[i]))) {
        quoted.push(match[1]);
        i += 1;
      }
      renderBlocks(quoted, el("blockquote", parent));
      continue;
    } else if ((match = ITEM.exec(line))) {
      paragraph = null;
      lists = listItem(lists, match, parent);
    } else if (lists) {
      lists.item.append(" ");
      inline(line.trim(), lists.item);
    } else if (paragraph) {
      el("br", paragraph);
      inline(line.trim(), paragraph);
    } else {
      paragraph = el("p", parent);
      inline(line.trim(), paragraph);
    }
    i += 1;
  }
}

function codeBlock(lines, start, fence, parent) {
  const [, marker, lang] = fence;
  const body = [];
  let i = start + 1;
  for (; i < lines.length; i += 1) {
    const close = lines[i].trim();
    if (close.startsWith(marker) && close.replace(marker[0].repeat(close.length), "") === "") {
      i += 1;
      break;
    }
    body.push(lines[i]);
  }
  const pre = el("pre", parent);
  const code = el("code", pre);
  if (/^[\w+#.-]{1,30}$/.test(lang)) code.dataset.lang = lang;
  code.textContent = body.join("\n");
  return i;
}

function nextIsItem(lines, i) {
  for (let j = i + 1; j < lines.length; j += 1) {
    if (lines[j].trim() !== "") return ITEM.test(lines[j]);
  }
  return false;
}

// Lists: a stack of open lists by indentation; a deeper item opens a list inside the
// previous item, a shallower one closes lists back to its level.
function listItem(open, match, parent) {
  const indent = match[1].replace(/\t/g, "    ").length;
  const ordered = /\d/.test(match[2]);
  const stack = open ? open.stack : [];
  while (stack.length && stack[stack.length - 1].indent > indent) stack.pop();
  let top = stack[stack.length - 1];
  if (top && top.indent === indent && top.ordered !== ordered) {
    stack.pop();
    top = stack[stack.length - 1];
  }
  if (!top || top.indent < indent) {
    const list = document.createElement(ordered ? "ol" : "ul");
    if (ordered && parseInt(match[2], 10) !== 1) list.start = parseInt(match[2], 10);
    (top ? top.item : parent).append(list);
    top = { indent, ordered, list, item: null };
    stack.push(top);
  }
  top.item = el("li", top.list);
  inline(match[3], top.item);
  return { stack, item: top.item };
}

/** Inline markdown of `text` appended to `parent` (Text nodes and elements only). */
function inline(text, parent) {
  let plain = "";
  const flush = () => {
    if (plain) parent.append(plain); // a string becomes a Text node: never markup
    plain = "";
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "\\" && ESCAPABLE.test(text[i + 1] || "")) {
      plain += text[i + 1];
      i += 2;
      continue;
    }
    const span = inlineSpan(text, i);
    if (span) {
      flush();
      parent.append(span.node);
      i = span.end;
      continue;
    }
    if (c === "`") {
      const run = /^`+/.exec(text.slice(i))[0];
      plain += run; // an unmatched backtick run is literal
      i += run.length;
      continue;
    }
    plain += c;
    i += 1;
  }
  flush();
}

function inlineSpan(text, i) {
  const c = text[i];
  if (c === "`") return codeSpan(text, i);
  for (const [delim, tag] of [
    ["**", "strong"],
    ["__", "strong"],
    ["~~", "del"],
  ]) {
    if (text.startsWith(delim, i)) return emphasis(text, i, delim, tag);
  }
  if (c === "*" || c === "_") return emphasis(text, i, c, "em");
  if (c === "[") return link(text, i);
  if (c === "h" && (i === 0 || /[\s(]/.test(text[i - 1]))) return autolink(text, i);
  return null;
}

function codeSpan(text, i) {
  const run = /^`+/.exec(text.slice(i))[0];
  const close = text.indexOf(run, i + run.length);
  if (close === -1) return null;
  let body = text.slice(i + run.length, close);
  if (body.length > 2 && body.startsWith(" ") && body.endsWith(" ")) body = body.slice(1, -1);
  const code = el("code");
  code.textContent = body;
  return { node: code, end: close + run.length };
}

function emphasis(text, i, delim, tag) {
  const start = i + delim.length;
  if (start >= text.length || /\s/.test(text[start])) return null;
  // `_` inside a word (snake_case) is not emphasis.
  if (delim[0] === "_" && i > 0 && /\w/.test(text[i - 1])) return null;
  let close = text.indexOf(delim, start);
  while (close !== -1) {
    const single = delim.length === 1;
    const doubled = single && (text[close + 1] === delim || text[close - 1] === delim);
    const after = text[close + delim.length] || "";
    const intraword = delim[0] === "_" && /\w/.test(after);
    if (close > start && !/\s/.test(text[close - 1]) && !doubled && !intraword) break;
    close = text.indexOf(delim, close + 1);
  }
  if (close === -1) return null;
  const node = el(tag);
  inline(text.slice(start, close), node);
  return { node, end: close + delim.length };
}

function link(text, i) {
  const match = LINK.exec(text.slice(i));
  if (!match) return null;
  const href = safeHref(match[2]);
  if (!href) return null;
  const a = anchor(href);
  inline(match[1] || match[2], a);
  return { node: a, end: i + match[0].length };
}

function autolink(text, i) {
  const match = AUTOLINK.exec(text.slice(i));
  const href = match && safeHref(match[0]);
  if (!href) return null;
  const a = anchor(href);
  a.textContent = match[0];
  return { node: a, end: i + match[0].length };
}

function anchor(href) {
  const a = el("a");
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer nofollow";
  return a;
}

function safeHref(raw) {
  try {
    const url = new URL(raw, document.baseURI);
    return ["http:", "https:", "mailto:"].includes(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}
