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
