/* The service worker of a page that works with no signal (the patrol page, the home-care visit log): pages and
   their static files come from the network when there is one and from the cache when there is none, so the page
   opens with no signal. It never touches a POST: filing goes through the page's outbox (outbox.js), which keeps
   what could not be sent. Served by foundation/web/offline.py, which puts the page's OFFLINE settings before it. */
"use strict";
var PAGES = OFFLINE.name + "-pages", STATIC = OFFLINE.name + "-static";

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(STATIC).then(function (cache) {
    return cache.addAll(["/static/site.css", "/static/outbox.js", OFFLINE.script, "/static/vendor/htmx-2.0.11.min.js"]);
  }).then(function () { return self.skipWaiting(); }));
});
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener("fetch", function (event) {
  var request = event.request, url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  var isPage = url.pathname === OFFLINE.prefix || url.pathname.indexOf(OFFLINE.prefix + "/") === 0;
  var isStatic = url.pathname.indexOf("/static/") === 0;
  if (!isPage && !isStatic) return;
  var cacheName = isPage ? PAGES : STATIC;
  event.respondWith(
    fetch(request).then(function (response) {
      if (response.ok && !response.redirected) {
        var copy = response.clone();
        caches.open(cacheName).then(function (cache) { cache.put(request, copy); });
      }
      return response;
    }).catch(function () {
      return caches.match(request, { ignoreSearch: isPage }).then(function (cached) {
        return cached || new Response("<!doctype html><meta charset=utf-8><p>无网络，且此页面尚未保存在手机上。请有信号时再打开。</p>",
          { status: 503, headers: { "content-type": "text/html; charset=utf-8" } });
      });
    })
  );
});
