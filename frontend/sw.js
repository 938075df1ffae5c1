// The service worker of WebSocket Chat: the installed app opens at once,
// and offline, from the app shell cached here.
//
// The shell is index.html and every file it names. trunk names its outputs
// after their content hash, so a cached file never goes stale under its
// name; only index.html changes between versions. So:
// - the page ("/") is answered from the cache at once, and fetched again
//   in the background; when the fetched one differs, its files are cached,
//   it replaces the cached one, and every open tab is told, which offers
//   "A new version is available — reload";
// - every other file is answered from the cache, else the network;
// - files no cached index.html names any more are dropped.
// The WebSocket and the server's own paths never pass through here
// (WebSockets are not fetches; only the app's own files are cached).
// docs/notifications.md, "The installable app", says more.
//
// It also shows Web Push notifications (issue 24): see "Web Push in the
// browser" below, and docs/notifications.md, "What the worker shows".

const CACHE = "chat-shell";
const SHELL = "/";

self.addEventListener("install", (event) => {
  event.waitUntil(refreshShell().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) {
    return;
  }
  if (request.mode === "navigate" && (url.pathname === "/" || url.pathname === "/index.html")) {
    event.respondWith(shellFirst(event));
    return;
  }
  if (isShellFile(url.pathname)) {
    event.respondWith(
      caches.match(request).then((hit) => hit || fetch(request)),
    );
  }
});

// A tab asks for a check (it came back into view, or an hour passed).
self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "check") {
    event.waitUntil(refreshAndAnnounce());
  }
});

// The cached page at once, refreshed behind it; the network while none
// is cached yet.
async function shellFirst(event) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(SHELL);
  if (cached) {
    event.waitUntil(refreshAndAnnounce());
    return cached;
  }
  try {
    await refreshShell();
  } catch (_) {
    // Offline before anything was cached: the browser's own error page.
  }
  return (await cache.match(SHELL)) || fetch(event.request);
}

async function refreshAndAnnounce() {
  try {
    if (await refreshShell()) {
      const tabs = await self.clients.matchAll({ type: "window" });
      for (const tab of tabs) {
        tab.postMessage({ type: "new-version" });
      }
    }
  } catch (_) {
    // Offline: the cached version stays, and says nothing.
  }
}

// Fetches index.html, caches it with every file it names, and drops what
// no longer belongs. Returns whether it differs from the cached one.
async function refreshShell() {
  const response = await fetch(SHELL, { cache: "no-cache" });
  if (!response.ok) {
    return false;
  }
  const html = await response.clone().text();
  const cache = await caches.open(CACHE);
  const previous = await cache.match(SHELL);
  const changed = previous !== undefined && (await previous.text()) !== html;
  if (previous !== undefined && !changed) {
    return false;
  }
  const files = filesOf(html);
  // The files first: a cached page never names a file that is not cached.
  await cache.addAll(files);
  await cache.put(SHELL, response);
  const keep = new Set([SHELL, ...files].map((path) => new URL(path, self.location.origin).href));
  for (const request of await cache.keys()) {
    if (!keep.has(request.url)) {
      await cache.delete(request);
    }
  }
  return changed;
}

// The site's own files a page names: trunk's script, wasm and style, the
// manifest and the icons.
function filesOf(html) {
  const found = new Set();
  for (const match of html.matchAll(/(?:href|src)="(\/[^"]*)"/g)) {
    if (match[1] !== "/" && !match[1].startsWith("//")) {
      found.add(match[1]);
    }
  }
  return [...found];
}

function isShellFile(pathname) {
  return /\.(js|wasm|css|png|webmanifest)$/.test(pathname) && pathname !== "/sw.js";
}

// ---- Web Push in the browser ----
//
// The server pushes, end-to-end encrypted for this browser, one of
//   {"room":"lobby","id":42,"author":"alice","text":"hi @bob"}   a message
//   {"room":"lobby","count":12,"summary":true}                  a summary
// (server/src/push/payload.rs). Each becomes a notification tagged by its
// room, so a flood of one room replaces itself instead of piling up (the
// page's own notifications use the same tag). A click focuses an open tab
// of the app and asks it to open the room at the message; with none open,
// it opens the app at a link to the message, "/#/r/<room>/<id>" (the
// app's route.rs reads it).

// The worker speaks the browser's language (it cannot see the app's
// choice): English, or Russian for a Russian browser.
const WORDS = {
  en: {
    inRoom: (author, room) => `${author} in #${room}`,
    summary: (count, room) =>
      `${count} new ${count === 1 ? "message" : "messages"} in #${room}`,
    dmSummary: (count) =>
      `${count} new direct ${count === 1 ? "message" : "messages"}`,
    fallback: "New message",
  },
  ru: {
    inRoom: (author, room) => `${author} в #${room}`,
    summary: (count, room) => `${count} ${russianPlural(count, "новое сообщение", "новых сообщения", "новых сообщений")} в #${room}`,
    dmSummary: (count) =>
      `${count} ${russianPlural(count, "новое личное сообщение", "новых личных сообщения", "новых личных сообщений")}`,
    fallback: "Новое сообщение",
  },
};

function russianPlural(n, one, few, many) {
  const tens = n % 100;
  const units = n % 10;
  if (units === 1 && tens !== 11) return one;
  if (units >= 2 && units <= 4 && (tens < 12 || tens > 14)) return few;
  return many;
}

function words() {
  const language = (self.navigator && self.navigator.language) || "en";
  return language.toLowerCase().startsWith("ru") ? WORDS.ru : WORDS.en;
}

// A direct-message room (shared/src/people.rs, DM_ROOM_PREFIX): its name
// means nothing to a person, so the notification names the author alone.
function isDm(room) {
  return room.startsWith("dm-");
}

self.addEventListener("push", (event) => {
  // A push must show a notification (the subscription is userVisibleOnly).
  event.waitUntil(showPush(event.data));
});

// What a push's payload asks to show: title, body, tag and the data a
// click needs.
function notificationFor(payload) {
  const w = words();
  const room = payload && typeof payload.room === "string" ? payload.room : "";
  if (!room) {
    return { title: w.fallback, options: { tag: "chat", data: {} } };
  }
  if (payload.summary === true) {
    const count = Number.isSafeInteger(payload.count) && payload.count > 0 ? payload.count : 1;
    const title = isDm(room) ? w.dmSummary(count) : w.summary(count, room);
    return { title, options: { tag: room, data: { room } } };
  }
  const author = typeof payload.author === "string" ? payload.author : "";
  const text = typeof payload.text === "string" ? payload.text : "";
  const id = Number.isSafeInteger(payload.id) && payload.id >= 0 ? payload.id : null;
  const title = isDm(room) ? author || w.fallback : w.inRoom(author, room);
  return { title, options: { body: text, tag: room, data: { room, id } } };
}

async function showPush(data) {
  let payload = null;
  try {
    payload = data ? data.json() : null;
  } catch (_) {
    // Not JSON: still a notification, which says only that something came.
  }
  const { title, options } = notificationFor(payload);
  options.icon = "/icons/icon-192.png";
  await self.registration.showNotification(title, options);
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(openFromNotification(event.notification.data || {}));
});

// Focuses a tab of the app and asks it to open the room at the message
// (the app's state/push/browser.rs hears {type: "open", room, id}); with
// no tab open, opens the app at a link to the message.
async function openFromNotification(data) {
  const room = typeof data.room === "string" ? data.room : "";
  const id = Number.isSafeInteger(data.id) ? data.id : null;
  const tabs = (await self.clients.matchAll({ type: "window", includeUncontrolled: true }))
    .filter((tab) => new URL(tab.url).origin === self.location.origin);
  const tab = tabs.find((t) => t.focused) || tabs.find((t) => t.visibilityState === "visible") || tabs[0];
  if (tab) {
    if (room) {
      tab.postMessage({ type: "open", room, id });
    }
    await tab.focus();
    return;
  }
  await self.clients.openWindow(linkTo(room, id));
}

// The app's address for a room and message: "/#/r/lobby/42".
function linkTo(room, id) {
  if (!room) {
    return "/";
  }
  return `/#/r/${encodeURIComponent(room)}` + (id === null ? "" : `/${id}`);
}
