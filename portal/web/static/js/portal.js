// Progressive enhancement only: every page works without this file.
// After htmx swaps in a new step, move keyboard and screen-reader focus to it.
document.addEventListener("htmx:afterSwap", function (event) {
  var target = event.detail.target;
  var focus = target && target.querySelector("[data-autofocus]");
  if (focus) {
    focus.focus({ preventScroll: false });
  }
});

// Searchable multi-selects (reports/filters.html): show the text box that narrows the list
// of checkboxes as one types (case and accents ignored), and keep the summary naming the
// chosen options. Without this file the list scrolls and the browser's find works.
function foldText(text) {
  return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().trim();
}
function enhanceMultiSelects(root) {
  root.querySelectorAll(".multi-filter[hidden]").forEach(function (box) { box.hidden = false; });
}
document.addEventListener("DOMContentLoaded", function () { enhanceMultiSelects(document); });
document.addEventListener("htmx:load", function (event) { enhanceMultiSelects(event.detail.elt); });
document.addEventListener("input", function (event) {
  var box = event.target;
  if (!box.classList || !box.classList.contains("multi-filter")) { return; }
  var wanted = foldText(box.value);
  box.closest(".multi-select").querySelectorAll("li").forEach(function (item) {
    item.hidden = wanted !== "" && foldText(item.textContent).indexOf(wanted) === -1;
  });
});
document.addEventListener("keydown", function (event) {
  // Enter in the text box only narrows the list; the form is sent with its button.
  if (event.key === "Enter" && event.target.classList && event.target.classList.contains("multi-filter")) { event.preventDefault(); }
});
document.addEventListener("change", function (event) {
  var select = event.target.closest && event.target.closest(".multi-select");
  if (!select || event.target.type !== "checkbox") { return; }
  var names = Array.prototype.map.call(select.querySelectorAll("input[type=checkbox]:checked"), function (input) {
    return input.parentNode.textContent.trim();
  });
  var chosen = select.querySelector(".multi-chosen");
  chosen.textContent = names.length ? names.join(", ") : chosen.dataset.all;
});
