// The report's filters. Data comes from the DOM only (data-* attributes and form controls),
// never from strings written into this script. The initial filter can be set from the URL:
// index.html?outcome=fail,info&section=7&q=1002 (or the same after '#').
(function () {
  "use strict";
  var all = function (selector) {
    return Array.prototype.slice.call(document.querySelectorAll(selector));
  };
  var form = document.getElementById("filters");
  var boxes = all("#filter-outcome input[type=checkbox]");
  var section = document.getElementById("filter-section");
  var text = document.getElementById("filter-text");
  var count = document.getElementById("filter-count");
  var rows = all("#matrix tbody tr[data-id]");
  var heads = all("#matrix tbody tr.section-head");
  var panels = all("section.case");

  function attr(el, name) {
    return (el.getAttribute(name) || "").toLowerCase();
  }

  function state() {
    var outcomes = {};
    boxes.forEach(function (b) {
      if (b.checked) outcomes[b.value] = true;
    });
    return { outcomes: outcomes, section: section.value, text: text.value.trim().toLowerCase() };
  }

  // One (target, case) result: a matrix cell or a panel.
  function matches(s, sectionOf, haystack, outcome) {
    if (s.section && sectionOf !== s.section) return false;
    if (!s.outcomes[outcome]) return false;
    return !s.text || haystack.indexOf(s.text) >= 0;
  }

  function apply() {
    var s = state();
    var shown = 0;
    var sections = {};
    rows.forEach(function (row) {
      var base = attr(row, "data-id") + "\n" + attr(row, "data-title");
      var any = false;
      row.querySelectorAll("td.cell").forEach(function (cell) {
        var ok = matches(s, row.getAttribute("data-section"),
          base + "\n" + attr(cell, "data-reason"), cell.getAttribute("data-outcome"));
        cell.classList.toggle("dim", !ok);
        any = any || ok;
      });
      row.hidden = !any;
      if (any) {
        shown += 1;
        sections[row.getAttribute("data-section")] = true;
      }
    });
    heads.forEach(function (head) {
      head.hidden = !sections[head.getAttribute("data-section")];
    });
    panels.forEach(function (panel) {
      var haystack = attr(panel, "data-id") + "\n" + attr(panel, "data-title") + "\n" +
        attr(panel, "data-reason");
      panel.hidden = !matches(s, panel.getAttribute("data-section"), haystack,
        panel.getAttribute("data-outcome"));
    });
    count.textContent = shown + " of " + rows.length + " cases shown";
    form.setAttribute("data-applied", "yes");
  }

  function fromUrl() {
    var params = new URLSearchParams(location.search);
    var hash = location.hash.slice(1);
    if (hash.indexOf("=") >= 0) {
      new URLSearchParams(hash).forEach(function (value, key) {
        params.set(key, value);
      });
    }
    if (params.has("outcome")) {
      var wanted = params.get("outcome").split(",");
      boxes.forEach(function (b) {
        b.checked = wanted.indexOf(b.value) >= 0;
      });
    }
    if (params.has("section")) section.value = params.get("section");
    if (params.has("q")) text.value = params.get("q");
  }

  // A link to a case shows its panel even when the filters hide it.
  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && id.indexOf("=") < 0 ? document.getElementById(id) : null;
    if (el && el.classList.contains("case")) el.hidden = false;
  }

  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (e) {
    e.preventDefault();
  });
  window.addEventListener("hashchange", function () {
    if (location.hash.indexOf("=") >= 0) {
      fromUrl();
      apply();
    } else {
      reveal();
    }
  });
  fromUrl();
  form.dispatchEvent(new Event("change"));
  reveal();
})();
