// Progressive enhancement only: every page works without this file.
// After htmx swaps in a new step, move keyboard and screen-reader focus to it.
document.addEventListener("htmx:afterSwap", function (event) {
  var target = event.detail.target;
  var focus = target && target.querySelector("[data-autofocus]");
  if (focus) {
    focus.focus({ preventScroll: false });
  }
});
