// Session titles, kept in localStorage: the first thing the user said in each session.

const TITLES_KEY = "adkstream.titles";

export function titles() {
  try {
    return JSON.parse(localStorage.getItem(TITLES_KEY) || "{}");
  } catch {
    return {};
  }
}

/** Records a session's title once (an empty `text` records nothing). */
export function setTitle(sessionId, text) {
  const all = titles();
  if (all[sessionId]) return;
  const title = text.replace(/\s+/g, " ").trim().slice(0, 80);
  if (!title) return;
  all[sessionId] = title;
  saveTitles(all);
}

export function saveTitles(all) {
  try {
    localStorage.setItem(TITLES_KEY, JSON.stringify(all));
  } catch {
    // storage full or disabled: sessions keep their default names
  }
}
