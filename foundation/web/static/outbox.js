/* A phone's outbox (IndexedDB), shared by the pages that file from a phone with no signal (the patrol page, the
   home-care visit log): what was filed is kept here until the server has it. Entries are keyed by their client id
   and belong to the user who filed them. */
(function () {
  "use strict";
  var STORE = "outbox";

  window.PhoneOutbox = function (dbName, user) {
    function openDb() {
      return new Promise(function (resolve, reject) {
        var request = indexedDB.open(dbName, 1);
        request.onupgradeneeded = function () { request.result.createObjectStore(STORE, { keyPath: "client_id" }); };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { reject(request.error); };
      });
    }
    function withStore(mode, work) {
      return openDb().then(function (db) {
        return new Promise(function (resolve, reject) {
          var tx = db.transaction(STORE, mode), result;
          Promise.resolve(work(tx.objectStore(STORE))).then(function (r) { result = r; });
          tx.oncomplete = function () { db.close(); resolve(result); };
          tx.onerror = function () { db.close(); reject(tx.error); };
        });
      });
    }
    return {
      /* This user's entries, oldest first. */
      all: function () {
        return withStore("readonly", function (store) {
          return new Promise(function (resolve) {
            var request = store.getAll();
            request.onsuccess = function () {
              resolve(request.result.filter(function (e) { return e.user === user; }).sort(function (a, b) { return a.queued_at < b.queued_at ? -1 : 1; }));
            };
          });
        });
      },
      put: function (entry) { return withStore("readwrite", function (store) { store.put(entry); }); },
      remove: function (clientId) { return withStore("readwrite", function (store) { store.delete(clientId); }); }
    };
  };
})();
