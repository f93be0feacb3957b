// The reviewer's page of a review queue: score one row by keyboard. Number keys pick a
// score (each point shows its key), j / k move the choice down / up, Enter submits, s
// skips, c goes to the comment (Esc leaves it, Ctrl+Enter submits from it). Keys typed in
// a field are the field's. Without this script the form's own buttons do the same.
(() => {
  const form = document.getElementById("review-form");
  if (!(form instanceof HTMLFormElement)) return;
  const comment = document.getElementById("review-comment");
  const skip = document.getElementById("review-skip");
  const points = () => [...form.querySelectorAll('input[type="radio"][name="score"]')];
  let sent = false;

  form.addEventListener("submit", () => { sent = true; });
  window.addEventListener("pageshow", (event) => { if (event.persisted) sent = false; });  // back

  const typing = (element) =>
    element instanceof HTMLElement &&
    (element.isContentEditable || element.matches('textarea, select, input:not([type="radio"])'));

  const choose = (radio) => {
    radio.checked = true;
    radio.focus();
  };

  const move = (step) => {
    const all = points();
    if (!all.length) return;
    const at = all.findIndex((radio) => radio.checked);
    const next = at < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, at + step));
    choose(all[next]);
  };

  const submit = () => {
    if (!sent) form.requestSubmit();  // the browser asks for a score if none is chosen
  };

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.isComposing) return;
    const target = event.target;
    if (sent) {  // one row, one submission: a second Enter waits for the next row
      if (event.key === "Enter") event.preventDefault();
      return;
    }
    if (target === comment) {
      if (event.key === "Escape") comment.blur();
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        submit();
      }
      return;
    }
    if (typing(target) || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Enter") {
      if (target instanceof HTMLButtonElement || target instanceof HTMLAnchorElement) return;
      event.preventDefault();
      submit();
      return;
    }
    const picked = points().find((radio) => radio.dataset.key && radio.dataset.key === event.key);
    if (picked) {
      event.preventDefault();
      choose(picked);
    } else if (event.key === "j" || event.key === "k") {
      event.preventDefault();
      move(event.key === "j" ? 1 : -1);
    } else if (event.key === "s" && skip instanceof HTMLButtonElement) {
      event.preventDefault();
      sent = true;
      skip.click();
    } else if (event.key === "c" && comment instanceof HTMLTextAreaElement) {
      event.preventDefault();
      comment.focus();
    }
  });
})();
