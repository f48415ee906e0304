// Live console: when the server says this page changed, fetch it again and swap the changed parts.
// A part the owner is typing in is left alone; new customer messages are announced to screen readers.
(function () {
  "use strict";
  var main = document.querySelector("main[data-live]");
  if (!main || !window.EventSource) return;
  var source = new EventSource(main.getAttribute("data-live"));
  var busy = false, again = false;

  function swap(fresh) {
    document.querySelectorAll("[data-region]").forEach(function (old) {
      var name = old.getAttribute("data-region");
      var next = fresh.querySelector('[data-region="' + name + '"]');
      if (!next || next.innerHTML === old.innerHTML) return;
      if (old.contains(document.activeElement) && document.activeElement !== document.body) return;
      old.replaceWith(next);
      if (name === "transcript") next.scrollIntoView({ block: "end" });
    });
    document.title = fresh.title;
    var note = document.getElementById("live-note");
    var freshNote = fresh.getElementById("live-note");
    if (note && freshNote) note.textContent = freshNote.textContent;
  }

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html) swap(new DOMParser().parseFromString(html, "text/html")); })
      .finally(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }
  source.addEventListener("change", refresh);

  // Canned replies: choosing one puts its text in the reply box (the owner can still edit it).
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches("select[data-canned]")) return;
    var box = document.getElementById(select.getAttribute("data-canned"));
    if (box && select.value) { box.value = select.value; box.focus(); }
    select.selectedIndex = 0;
  });
})();
