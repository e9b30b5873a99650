// The admin pages' script: progressive enhancement only (the pages work without it).
// - A button with data-copy="ID" copies the value of the input #ID (a new API token) to the
//   clipboard, and says so in the element with data-copied-for="ID".
// No inline script or style: the Content-Security-Policy allows neither.
(() => {
  document.addEventListener("click", (event) => {
    const button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
    if (button === null) return;
    const id = button.getAttribute("data-copy");
    const input = document.getElementById(id);
    const said = document.querySelector(`[data-copied-for="${CSS.escape(id)}"]`);
    if (input === null) return;
    const done = (text) => {
      if (said !== null) said.textContent = text;
    };
    input.select();
    if (navigator.clipboard?.writeText) {
      navigator.clipboard.writeText(input.value).then(
        () => done("Copied."),
        () => done("Select the text and copy it (Ctrl+C)."),
      );
    } else {
      done(document.execCommand("copy") ? "Copied." : "Select the text and copy it (Ctrl+C).");
    }
  });
})();
