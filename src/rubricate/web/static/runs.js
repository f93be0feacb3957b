// The metric page's Alignment section and run pages: close the Start Alignment dialog once
// a run started, keep expanded runs open while the run history refreshes itself, and do
// not refresh it under a reviewer who is editing a guideline.
(() => {
  const HISTORY = "runs-history";

  document.addEventListener("close-dialog", () => {
    const dialog = document.getElementById("dialog");
    if (dialog instanceof HTMLDialogElement && dialog.open) dialog.close();
  });

  const openRuns = (history) =>
    [...history.querySelectorAll("details.run-more[open]")].map((d) => d.dataset.run);

  const isHistory = (element) => element instanceof Element && element.id === HISTORY;

  // The history asks for the runs that are expanded, so that it renders them expanded.
  document.addEventListener("htmx:configRequest", (event) => {
    const history = event.detail.elt;
    if (!isHistory(history)) return;
    const open = openRuns(history);
    if (open.length) event.detail.parameters["open"] = open.join(",");
  });

  // No refresh while a guideline is being edited or a field in the history has the focus.
  document.addEventListener("htmx:beforeRequest", (event) => {
    const history = event.detail.elt;
    if (!isHistory(history)) return;
    const focused = document.activeElement;
    const editing = history.querySelector("details.guideline-edit[open]");
    if (editing || (focused && history.contains(focused) && focused.matches("input, textarea, select"))) {
      event.preventDefault();
    }
  });

  // Notices (like "Alignment run started") can be dismissed too.
  document.addEventListener("click", (event) => {
    const target = event.target;
    if (target instanceof Element && target.closest("[data-dismiss]")) {
      target.closest(".notice")?.remove();
    }
  });
})();
