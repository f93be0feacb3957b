// rubricate's few lines of script: htmx settings, the dialog, dismissable messages.
// No inline scripts anywhere (the Content-Security-Policy forbids them).
document.addEventListener("DOMContentLoaded", () => {
  // Errors (4xx/5xx) are swapped too: the server retargets them to #messages.
  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "[45]..", swap: true, error: true },
  ];
});

// A fragment loaded into the <dialog> opens it; [data-close] closes it.
document.addEventListener("htmx:afterSwap", (event) => {
  const dialog = document.getElementById("dialog");
  if (event.detail.target === dialog && dialog.innerHTML.trim() && !dialog.open) {
    dialog.showModal();
  }
});

document.addEventListener("click", (event) => {
  const target = event.target;
  if (!(target instanceof Element)) return;
  if (target.closest("[data-close]")) {
    const dialog = target.closest("dialog");
    if (dialog) dialog.close();
  }
  if (target.closest("[data-dismiss]")) {
    target.closest(".alert")?.remove();
  }
});

// Closing the dialog empties it, so the next open starts fresh.
document.addEventListener("close", (event) => {
  const dialog = event.target;
  if (dialog instanceof HTMLDialogElement) dialog.innerHTML = "";
}, true);
