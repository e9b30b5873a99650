// The admin pages' script: progressive enhancement only (the pages work without it).
// - A button with data-copy="ID" copies the value of the input #ID (a new API token) to the
//   clipboard, and says so in the element with data-copied-for="ID".
// - A file input with data-max-bytes: a chosen file larger than that is not sent; the problem is
//   said beside the field, in the element data-problem names (the server says it too, for a
//   browser without this script).
// No inline script or style: the Content-Security-Policy allows neither.
(() => {
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    for (const input of form.querySelectorAll("input[type=file][data-max-bytes]")) {
      const max = Number(input.getAttribute("data-max-bytes"));
      const file = input.files?.[0];
      if (file === undefined || !(file.size > max)) continue;
      event.preventDefault();
      const id = input.getAttribute("data-problem") ?? `${input.id}-problem`;
      let problem = document.getElementById(id);
      if (problem === null) {
        problem = document.createElement("span");
        problem.className = "problem";
        problem.id = id;
        input.parentElement.append(problem);
        input.setAttribute(
          "aria-describedby",
          `${input.getAttribute("aria-describedby") ?? ""} ${id}`.trim(),
        );
      }
      problem.textContent = `is larger than ${Math.round(max / 1024)} KiB (this file: ${Math.ceil(file.size / 1024)} KiB)`;
      input.setAttribute("aria-invalid", "true");
      input.focus();
      return;
    }
  });

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
