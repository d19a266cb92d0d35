// Session titles, kept in localStorage: the first thing the user said in each session.

const TITLES_KEY = "adkstream.titles";

export function titles() {
  try {
    return JSON.parse(localStorage.getItem(TITLES_KEY) || "{}");
  } catch {
    return {};
  }
}

/** Records a session's title once; "" marks a session known to have none yet. */
export function setTitle(sessionId, text) {
  const all = titles();
  if (all[sessionId]) return;
  all[sessionId] = text.replace(/\s+/g, " ").trim().slice(0, 80);
  saveTitles(all);
}

export function saveTitles(all) {
  try {
    localStorage.setItem(TITLES_KEY, JSON.stringify(all));
  } catch {
    // storage full or disabled: sessions keep their default names
  }
}
